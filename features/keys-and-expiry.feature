Feature: The CLI key opens the API until it expires
  The key the CLI received opens /models and /v1/models; a forged, foreign or expired key does not.
  Expiry is checked by moving the gateway's clock, so it is the gateway's own notion of time.

  @CLISSO-API-01 @CLISSO-API-04
  Scenario: The key opens both model routes
    Given "cli-test-user" logged in through the browser and holds the key
    Then the key lists the models "gpt-4o-mini, claude-3-haiku" at "/models"
    And the key lists the models "gpt-4o-mini, claude-3-haiku" at "/v1/models"

  @CLISSO-API-02
  Scenario Outline: Keys that are not the gateway's are refused with 401 on both model routes (<case>)
    Given "cli-test-user" logged in through the browser and holds the key
    When the models are asked for at "/models" with <case>
    Then the gateway answers 401 with an error body
    When the models are asked for at "/v1/models" with <case>
    Then the gateway answers 401 with an error body

    Examples:
      | case                                                |
      | the key with one character of its signature changed |
      | the key re-signed with "alg" set to "none"          |
      | the key's claims signed with another secret         |
      | the key with one character more                     |
      | the key without its last character                  |
      | the key in the other case                           |
      | a key the gateway never issued                      |
      | no key at all                                       |

  # LiteLLM reads the key from "Bearer <key>" or "bearer <key>" and from nothing else in this header
  # (litellm/proxy/auth/user_api_key_auth.py). Forms LiteLLM and our gateway read differently ("BEARER",
  # two spaces, "Basic") are not judged.
  @CLISSO-API-06
  Scenario: The key counts only as "Bearer" and the key, nothing before and nothing after
    Given "cli-test-user" logged in through the browser and holds the key
    Then the models are listed with each of these Authorization headers:
      | Bearer {key} |
      | bearer {key} |
    And each of these Authorization headers is refused with 401 and an error body:
      | {key}              |
      | Token {key}        |
      | xBearer {key}      |
      | Token Bearer {key} |
      | Bearer             |
      | Bearer {key} extra |
      | Bearer {key}{key}  |

  @CLISSO-API-05
  Scenario Outline: GET /user/info opens to the master key only, not to one a step off (<master key>)
    When GET /user/info for "cli-test-user" is asked with the master key <master key>
    Then the gateway refuses it with 401 or 403 and shows no user row

    Examples:
      | master key                      |
      | in the other case               |
      | with one character more         |
      | without its last character      |
      | with its last character changed |

  @CLISSO-API-05
  Scenario: A CLI key cannot read another person's user row
    Given "alice" logged in through the browser and holds the key
    And "cli-test-user" logged in through the browser and holds the key
    When the key asks GET /user/info for "alice"
    Then the gateway refuses it with 401 or 403 and shows no user row

  @CLISSO-API-03
  Scenario Outline: With EXPERIMENTAL_UI_LOGIN off, CLI keys are refused (EXPERIMENTAL_UI_LOGIN=<value>)
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN | <value> |
    And "cli-test-user" logged in through the browser and holds the key
    When the models are asked for with the key
    Then the gateway answers 401 with an error body

    Examples:
      | value |
      | False |
      | FALSE |

  # The other side of the same setting: on in any letter case (LiteLLM compares it lower-cased).
  @CLISSO-API-01
  Scenario: With EXPERIMENTAL_UI_LOGIN on in capitals, CLI keys open the API
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN | TRUE |
    And "cli-test-user" logged in through the browser and holds the key
    Then the key lists the models "gpt-4o-mini" at "/models"

  # Off unless set (docs/contract.md section 3), as in LiteLLM.
  @CLISSO-API-03
  Scenario: With EXPERIMENTAL_UI_LOGIN not set at all, CLI keys are refused
    Given the gateway is configured without EXPERIMENTAL_UI_LOGIN
    And "cli-test-user" logged in through the browser and holds the key
    When the models are asked for with the key
    Then the gateway answers 401 with an error body

  @CLISSO-EXPIRY-01 @CLISSO-EXPIRY-03
  Scenario Outline: A key lasts exactly its configured lifetime on both model routes (<lifetime>)
    Given CLI keys are configured with <setting>
    And "cli-test-user" logged in through the browser and holds the key
    Then the ready answer's expires_in, when the gateway sends one, is <hours> hours
    When the gateway's clock moves to 5 seconds before <hours> hours after the login
    Then the key lists the models "gpt-4o-mini" at "/models"
    And the key lists the models "gpt-4o-mini" at "/v1/models"
    When the gateway's clock moves to 1 second past <hours> hours after the login
    Then the key is refused as expired at "/models"
    And the key is refused as expired at "/v1/models"

    Examples:
      | lifetime     | setting                                | hours |
      | 1 h          | LITELLM_CLI_JWT_EXPIRATION_HOURS "1"   | 1     |
      | default 24 h | no lifetime setting                    | 24    |
      | 12 h         | LITELLM_CLI_JWT_EXPIRATION_HOURS "12"  | 12    |
      | 48 h         | LITELLM_CLI_JWT_EXPIRATION_HOURS "48"  | 48    |
      | 168 h        | LITELLM_CLI_JWT_EXPIRATION_HOURS "168" | 168   |
      | 720 h        | LITELLM_CLI_JWT_EXPIRATION_HOURS "720" | 720   |

  # The PKCE-native login's access token is a CLI key too, living the same hours (docs/contract.md
  # section 10.6); the setting comes first, since advertising the login starts the gateway.
  @CLISSO-NATIVE-09
  Scenario Outline: The PKCE-native access token lives the configured CLI key lifetime (<age>)
    Given CLI keys are configured with LITELLM_CLI_JWT_EXPIRATION_HOURS "1"
    And the gateway advertises the PKCE-native login
    And a native CLI got a code for "alice"
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens for "alice" and the team "team-alpha", not to be cached
    When the access token is <age> by the gateway's clock
    Then the access token <answer>

    Examples:
      | age                       | answer                              |
      | at most 3595 seconds old  | lists the models on /v1/models      |
      | at least 3601 seconds old | is refused as expired on /v1/models |

  @CLISSO-EXPIRY-02 @CLISSO-EXPIRY-03
  Scenario Outline: The lifetime is read from CLI_JWT_EXPIRATION_HOURS when the LITELLM_ name is <state>
    Given CLI keys are configured with CLI_JWT_EXPIRATION_HOURS "12"
    And LITELLM_CLI_JWT_EXPIRATION_HOURS is <state>
    And "cli-test-user" logged in through the browser and holds the key
    Then the ready answer's expires_in, when the gateway sends one, is 12 hours
    When the gateway's clock moves to 5 seconds before 12 hours after the login
    Then the key lists the models "gpt-4o-mini" at "/models"
    When the gateway's clock moves to 1 second past 12 hours after the login
    Then the key is refused as expired at "/models"

    Examples:
      | state   |
      | not set |
      | empty   |

  @CLISSO-EXPIRY-04
  Scenario: With both lifetime names set, CLI_JWT_EXPIRATION_HOURS wins, as LiteLLM reads them
    Given CLI keys are configured with CLI_JWT_EXPIRATION_HOURS "12"
    And CLI keys are configured with LITELLM_CLI_JWT_EXPIRATION_HOURS "48"
    And "cli-test-user" logged in through the browser and holds the key
    Then the ready answer's expires_in, when the gateway sends one, is 12 hours
    When the gateway's clock moves to 1 second past 12 hours after the login
    Then the key is refused as expired at "/models"

  @CLISSO-KEY-01
  Scenario Outline: Changing the signing key invalidates every key issued before (<secret> changed)
    Given the gateway signs CLI keys with <signing secret>
    And "cli-test-user" logged in through the browser and holds the key
    When the key is presented to a gateway of the same configuration but <secret> "<new value>"
    Then the gateway answers 401 with an error body

    Examples:
      | secret             | signing secret                                                                          | new value                                  |
      | LITELLM_MASTER_KEY | LITELLM_MASTER_KEY "sk-conformance-master-one-0123456789abcdef" and no LITELLM_SALT_KEY | sk-conformance-master-two-0123456789abcdef |
      | LITELLM_SALT_KEY   | LITELLM_SALT_KEY "conformance-salt-one-0123456789abcdefghij"                            | conformance-salt-two-0123456789abcdefghij  |

  @CLISSO-KEY-02
  Scenario: With LITELLM_SALT_KEY set, the salt key signs CLI keys, not the master key
    Given the gateway signs CLI keys with LITELLM_SALT_KEY "conformance-salt-one-0123456789abcdefghij"
    And "cli-test-user" logged in through the browser and holds the key
    When the key is presented to a gateway of the same configuration but LITELLM_MASTER_KEY "sk-conformance-master-two-0123456789abcdef"
    Then that gateway lists the models "gpt-4o-mini"
