Feature: The CLI after login: who am I, models, logout
  What a developer does with the CLI once logged in, and the promises it keeps about secrets.

  Background:
    Given "cli-test-user" has logged in with the CLI through the browser

  @CLISSO-CLI-05
  Scenario: whoami names the user and says when the key expires, and that it has expired
    When the developer runs "whoami"
    Then the CLI succeeds and its output names "cli-test-user"
    When the clocks move 25 hours ahead
    And the developer runs "whoami"
    Then the CLI's output says the key has expired

  @CLISSO-CLI-04
  Scenario: logout removes the stored login
    When the developer runs "logout"
    Then the CLI succeeds
    And the token file is gone

  @CLISSO-CLI-06
  Scenario: The CLI never puts the poll secret or the key in a URL
    When the developer runs "models list"
    Then no request the CLI made had the poll secret or the key in its URL
