@cli
Feature: The CLI logs in through the browser
  A developer runs the CLI's login, signs in at the company's IdP in the browser, confirms the code
  the CLI showed, and the CLI keeps a key that opens the gateway's API. A login counts as done only
  when the wire shows it: the gateway handed this CLI a key, and the CLI's next command sends that
  very key. Where the CLI keeps the key (a file, the OS keychain) is its own business, as long as no
  one else can read it.

  @CLISSO-CLI-07 @CLISSO-CLI-10 @CLISSO-CLI-03 @CLISSO-CLAIMS-01
  Scenario: LiteLLM's default user logs in and lists the models
    Given the gateway maps claims with "employment_type->acme_employment_type,org_info.department->department"
    And the gateway captures the IdP claims "employment_type,org_info.department"
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI printed the login URL and the code the gateway gave it
    And the login answer carried the attribution metadata:
      | acme_employment_type | contractor  |
      | department           | Engineering |
    When the developer lists the models with the CLI
    Then the CLI sent the key the gateway handed out as "Authorization: Bearer"
    And the CLI's output names the models "gpt-4o-mini, claude-3-haiku"

  @CLISSO-CLI-08
  Scenario: The URL and the code are on the screen before the browser opens
    When "cli-test-user" logs in with the CLI through the browser
    Then the login URL and the code were on the screen before the browser opened

  @CLISSO-CLI-09
  Scenario: The CLI opens the login URL through BROWSER
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI asked the browser to open the login URL

  @CLISSO-CLI-11
  Scenario: Nobody but the user can read the key the CLI keeps
    Given "cli-test-user" has logged in with the CLI through the browser
    Then no file under the CLI's HOME that holds the key is readable by group or others
    And the token file, if the CLI wrote one, is readable only by its owner

  @CLISSO-CLI-11
  Scenario: A token file an older CLI left readable to all does not expose the new key
    Given the CLI's HOME holds a token file of an older login that anyone can read
    And "cli-test-user" has logged in with the CLI through the browser
    Then no file under the CLI's HOME that holds the key is readable by group or others

  @CLISSO-CLI-12 @token-file
  Scenario: The token file holds what LiteLLM's SDK reads
    Given the CLI under test writes LiteLLM's token file
    And "cli-test-user" has logged in with the CLI through the browser
    Then the token file holds the key the gateway handed out, with "base_url", "user_id" and "timestamp"

  @CLISSO-CLI-12 @CLISSO-CLI-25 @token-file
  Scenario: The token file's base_url keeps the path of the base URL
    Given the CLI under test writes LiteLLM's token file
    And the gateway is served to the CLI under "/litellm"
    And "cli-test-user" has logged in with the CLI through the browser
    Then the token file holds the key the gateway handed out, with "base_url", "user_id" and "timestamp"

  @CLISSO-CLI-14
  Scenario: A login that got a key exits with status 0
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI's login is proven on the wire
    And the CLI's login exited with status 0

  @CLISSO-CLI-14
  Scenario: A login that got no key exits with a non-zero status
    Given the gateway answers every poll of the CLI with 400 "CLI login session not found or expired"
    When the developer starts a login with the CLI
    And the CLI finishes
    Then the gateway handed the CLI no key
    And the CLI's login exited with a non-zero status

  @CLISSO-CLI-28
  Scenario: The CLI never shows the whole key or the poll secret
    Given "cli-test-user" has logged in with the CLI through the browser
    When the developer runs "whoami"
    Then nothing the CLI printed holds the whole key or the poll secret

  @CLISSO-CLI-28
  Scenario: The CLI does not show the key when the gateway refuses it
    Given "cli-test-user" has logged in with the CLI through the browser
    And the gateway answers the CLI's next 2 model lists with 503 and then every one with 401 "Authentication Error, Invalid proxy server token passed."
    When the developer lists the models with the CLI
    And the developer runs "whoami"
    Then nothing the CLI printed holds the whole key or the poll secret

  @CLISSO-CLI-28
  Scenario: The CLI does not show the poll secret when its polls fail or are refused
    Given the gateway answers the CLI's next 2 polls with 503
    And the gateway answers every poll of the CLI with 403 "Invalid CLI polling secret"
    When the developer starts a login with the CLI
    And the CLI finishes
    Then nothing the CLI printed holds the whole key or the poll secret

  @CLISSO-CLI-06
  Scenario: The poll secret and the key never travel in a URL, in any command
    Given "cli-test-user" has logged in with the CLI through the browser
    When the developer runs "whoami"
    And the developer lists the models with the CLI
    And the developer runs "logout"
    Then no request the CLI made had the poll secret or the key in its URL
    And no URL the CLI opened in the browser had the poll secret or the key in it

  @CLISSO-CLI-27
  Scenario Outline: Logging in again replaces the first login: <who>
    Given "cli-test-user" has logged in with the CLI through the browser
    When "<second>" logs in with the CLI through the browser
    And the developer lists the models with the CLI
    Then the CLI sent the key of the second login, not the first

    Examples:
      | who                                     | second        |
      | another person                          | alice         |
      | the same person again, for a fresh key  | cli-test-user |
