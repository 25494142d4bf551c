@cli
Feature: The CLI after login: who am I, models, logout
  What a developer does with the CLI once logged in.

  Background:
    Given "cli-test-user" has logged in with the CLI through the browser

  @CLISSO-CLI-05 @faketime
  Scenario: whoami names the user and says when the key expires, and that it has expired
    When the developer runs "whoami"
    Then the CLI succeeds and its output names "cli-test-user"
    When the clocks move 25 hours ahead
    And the developer runs "whoami"
    Then the CLI's output says the key has expired

  @CLISSO-CLI-26
  Scenario: whoami answers with the gateway out of reach
    Given the gateway cannot be reached
    When the developer runs "whoami"
    Then the CLI succeeds and its output names "cli-test-user"

  @CLISSO-CLI-13
  Scenario: After logout the CLI no longer sends the key
    When the developer runs "logout"
    And the developer lists the models with the CLI
    Then the CLI did not send the key of the login
    And no file under the CLI's HOME holds the key of the login

  @CLISSO-CLI-13
  Scenario: Logout with the gateway out of reach still removes the key
    Given the gateway cannot be reached
    When the developer runs "logout"
    Then no file under the CLI's HOME holds the key of the login
