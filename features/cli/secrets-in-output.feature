@cli
Feature: No piece of a secret reaches the CLI's output
  The key and the poll secret are the login. A CLI may show a short preview of the key, but nothing
  it prints (progress, retry lines, errors) may hold any piece of either, even when the secret holds
  line breaks, spaces or escape sequences that cut it into pieces, and even when the gateway repeats
  it in its answers. What the CLI does with such a secret (refuse it, keep it) is its own business.

  @CLISSO-CLI-30
  Scenario: A key holding a line break, spaces and escape sequences is never printed, in any piece
    Given the gateway hands the CLI a key holding a line break, spaces and escape sequences
    When "cli-test-user" logs in with the CLI through the browser
    And the developer runs "whoami"
    And the developer lists the models with the CLI
    And the developer runs "logout"
    Then no piece of that key appears in what the CLI printed

  @CLISSO-CLI-30
  Scenario: A gateway that repeats the key in its error details does not get it printed
    Given "cli-test-user" has logged in with the CLI through the browser
    And the gateway answers the CLI's next 2 model lists with 503 and then every one with 401, each detail repeating the key
    When the developer lists the models with the CLI
    Then no piece of the key appears in what the CLI printed

  @CLISSO-CLI-30
  Scenario Outline: A gateway that repeats the poll secret in its error details does not get it printed: <case>
    Given the gateway's start answer gives the CLI <secret>, and its polls are answered 503 twice, then 403, each detail repeating it
    When the developer starts a login with the CLI
    And the CLI finishes
    Then no piece of that poll secret appears in what the CLI printed

    Examples:
      | case                          | secret                                                          |
      | an ordinary one               | an ordinary poll secret                                         |
      | one with odd characters in it | a poll secret holding a line break, spaces and escape sequences |
