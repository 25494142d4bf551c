@cli
Feature: A CLI stays safe in front of a hostile or broken gateway
  Whatever the gateway sends, the CLI must not hand the person's terminal to it (escape sequences
  can retitle the window, clear the screen, plant links), must not hold an answer of any size in
  memory nor ask again for one, must not open a browser on a URL the gateway made up, and must keep
  the base URL's path. (Secrets the gateway tries to get printed: secrets-in-output.feature.)

  @CLISSO-CLI-23
  Scenario: Escape sequences in the user id, the team ids and the team names never reach the terminal
    Given the gateway's answers to the CLI carry terminal escape sequences in the user id, the team ids and the team names
    When "bob" starts a login with the CLI and finishes it in the browser
    And the developer chooses "team-beta" when the CLI asks for a team
    And the CLI finishes
    And the developer runs "whoami"
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-23
  Scenario: Escape sequences in the email and the role never reach the terminal
    Given the gateway's ready answer carries terminal escape sequences in the email and the role, in its fields and in the key's claims
    When "cli-test-user" logs in with the CLI through the browser
    And the developer runs "whoami"
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-23
  Scenario: Escape sequences in the detail of a refused start never reach the terminal
    Given the gateway answers the CLI's start with 403 carrying terminal escape sequences in its detail
    When the developer starts a login with the CLI
    And the CLI finishes
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-23
  Scenario: Escape sequences in the details of a failing model list never reach the terminal
    Given "cli-test-user" has logged in with the CLI through the browser
    And the gateway answers the CLI's next 2 model lists with 503 and then every one with 401, each detail carrying terminal escape sequences
    When the developer lists the models with the CLI
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-23
  Scenario: Escape sequences in an error detail never reach the terminal
    Given the gateway answers every poll of the CLI with 403 carrying terminal escape sequences in its detail
    When the developer starts a login with the CLI
    And the CLI finishes
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-23
  Scenario: Escape sequences in model names never reach the terminal
    Given "cli-test-user" has logged in with the CLI through the browser
    And the gateway's model list carries terminal escape sequences in the model ids
    When the developer lists the models with the CLI
    Then none of the escape sequences the gateway sent reached the terminal

  @CLISSO-CLI-24
  Scenario: An answer of 100 MiB is not read to its end
    Given the gateway answers the CLI's next poll with 100 MiB
    When the developer starts a login with the CLI
    Then the CLI stopped reading that answer before 64 MiB

  @CLISSO-CLI-24 @CLISSO-CLI-31
  Scenario: A start answer of 700 MiB is abandoned, and the start is not sent again
    Given the gateway answers the CLI's start with 700 MiB
    When the developer starts a login with the CLI
    Then the CLI stopped reading that answer before 64 MiB
    And the CLI did not send that request again

  @CLISSO-CLI-31
  Scenario: After a poll answer of 700 MiB the CLI polls no more
    Given the gateway answers the CLI's next poll with 700 MiB
    When the developer starts a login with the CLI
    Then the CLI did not send that request again

  @CLISSO-CLI-24 @CLISSO-CLI-31
  Scenario: A model list of 700 MiB is abandoned, and not asked for again
    Given "cli-test-user" has logged in with the CLI through the browser
    And the gateway answers the CLI's next model list with 700 MiB
    When the developer lists the models with the CLI
    Then the CLI stopped reading that answer before 64 MiB
    And the CLI did not send that request again

  @CLISSO-CLI-25
  Scenario: A gateway served under a path prefix
    Given the gateway is served to the CLI under "/litellm"
    When "cli-test-user" logs in with the CLI through the browser
    Then the login URL the CLI showed is under "/litellm"
    And the CLI's login is proven on the wire
    When the developer runs "whoami"
    And the developer runs "logout"
    Then every request the CLI made was under "/litellm"

  @CLISSO-CLI-25
  Scenario: A gateway served under a path prefix, given with a trailing slash
    Given the gateway is served to the CLI under "/litellm", the base URL given with a trailing slash
    When "cli-test-user" logs in with the CLI through the browser
    Then the login URL the CLI showed is under "/litellm"
    And the CLI's login is proven on the wire
    And every request the CLI made was under "/litellm"
    And no request the CLI made had "//" in its path

  @CLISSO-CLI-32
  Scenario Outline: A login id that breaks the contract's form is refused: <case>
    Given the gateway starts the CLI's login with the login id "<login_id>"
    When the developer starts a login with the CLI
    And the CLI finishes
    Then the CLI sent no request after the start
    And the CLI opened no browser

    Examples:
      | case                   | login_id                              |
      | a script URL           | javascript:alert(document.cookie)     |
      | a path that climbs out | cli-AAAAAAAAAAAAAAAA/../../user/info  |
      | another site           | https://login.evil.example/cli-AAAAAA |

  @CLISSO-CLI-29
  Scenario Outline: A browser link offered by the gateway that leads elsewhere is never opened: <case>
    Given the gateway's start answer offers the browser link "<link>"
    When the developer starts a login with the CLI
    Then every URL the CLI opened in the browser is an http(s) URL on the gateway's origin

    Examples:
      | case                                                 | link                                            |
      | a script URL                                         | javascript:alert(document.cookie)               |
      | another site                                         | https://login.evil.example/sso/key/generate?x   |
      | the gateway's address as a user name of another host | {gateway}@login.evil.example/sso/key/generate?x |
      | another port of the gateway's host                   | {gateway}1/sso/key/generate?x                   |
      | a file on the person's machine                       | file:///etc/passwd                              |
