Feature: The CLI key opens the API until it expires
  The key the CLI received opens /models and /v1/models; a forged, foreign or expired key does not.
  Expiry is checked by moving the gateway's clock, so it is the gateway's own notion of time.

  @CLISSO-API-01
  Scenario: The key opens both model routes
    Given "cli-test-user" logged in through the browser and holds the key
    Then the key lists the models "gpt-4o-mini, claude-3-haiku" at "/models"
    And the key lists the models "gpt-4o-mini, claude-3-haiku" at "/v1/models"

  @CLISSO-API-02
  Scenario Outline: Keys that are not the gateway's are refused with 401 (<case>)
    Given "cli-test-user" logged in through the browser and holds the key
    When the models are asked for with <case>
    Then the gateway answers 401 with an error body

    Examples:
      | case                                                |
      | the key with one character of its signature changed |
      | the key re-signed with "alg" set to "none"          |
      | the key's claims signed with another secret         |
      | a key the gateway never issued                      |
      | no key at all                                       |

  @CLISSO-API-03
  Scenario: With EXPERIMENTAL_UI_LOGIN off, CLI keys are refused
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN | False |
    And "cli-test-user" logged in through the browser and holds the key
    When the models are asked for with the key
    Then the gateway answers 401 with an error body

  @CLISSO-EXPIRY-01
  Scenario Outline: A key lasts exactly its configured lifetime (<lifetime>)
    Given CLI keys are configured with <setting>
    And "cli-test-user" logged in through the browser and holds the key
    When the gateway's clock moves to 1 minute before <hours> hours after the login
    Then the key lists the models "gpt-4o-mini" at "/models"
    When the gateway's clock moves to 1 second past <hours> hours after the login
    Then the key is refused as expired

    Examples:
      | lifetime     | setting                                  | hours |
      | default 24 h | no lifetime setting                      | 24    |
      | 12 h         | LITELLM_CLI_JWT_EXPIRATION_HOURS "12"    | 12    |
      | 48 h         | LITELLM_CLI_JWT_EXPIRATION_HOURS "48"    | 48    |
      | 168 h        | LITELLM_CLI_JWT_EXPIRATION_HOURS "168"   | 168   |
      | 720 h        | LITELLM_CLI_JWT_EXPIRATION_HOURS "720"   | 720   |

  @CLISSO-EXPIRY-02
  Scenario: The lifetime is read from CLI_JWT_EXPIRATION_HOURS when the LITELLM_ name is not set
    Given CLI keys are configured with CLI_JWT_EXPIRATION_HOURS "12"
    And "cli-test-user" logged in through the browser and holds the key
    When the gateway's clock moves to 1 minute before 12 hours after the login
    Then the key lists the models "gpt-4o-mini" at "/models"
    When the gateway's clock moves to 1 second past 12 hours after the login
    Then the key is refused as expired
