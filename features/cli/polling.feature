@cli
Feature: The CLI polls patiently, and stops when told to
  While the person signs in, the CLI polls the gateway: every 2 s in LiteLLM's CLI, never more than
  once a second. The harness stands between the CLI and the gateway and shapes the gateway's answers:
  pending for a while, errors that pass, refusals that do not, a session that runs out, a question
  about teams.

  @CLISSO-CLI-15 @CLISSO-CLI-17
  Scenario: Pending for a while, then ready
    Given the gateway answers the CLI's next 2 polls with "pending" at once
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI's login is proven on the wire
    And the CLI polled at least 3 times
    And the CLI's polls started at least 1 second apart

  @CLISSO-CLI-16 @CLISSO-CLI-17
  Scenario Outline: Through <what>, the CLI keeps polling and gets the key
    Given the gateway answers the CLI's next <times> polls with <status>
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI's login is proven on the wire
    And the CLI polled at least <at least> times
    And the CLI's polls started at least 1 second apart

    Examples:
      | what                                   | times | status | at least |
      | a gateway that is restarting           | 2     | 503    | 3        |
      | a rate limit                           | 2     | 429    | 3        |
      | a proxy's bad gateway                  | 2     | 502    | 3        |
      | a proxy's gateway timeout              | 2     | 504    | 3        |
      | a gateway restarting for a while       | 4     | 503    | 5        |
      | a gateway's passing internal error     | 2     | 500    | 3        |

  @CLISSO-CLI-18
  Scenario Outline: A poll refused with <status> stops the CLI at once
    Given the gateway answers every poll of the CLI with <status> "<detail>"
    When the developer starts a login with the CLI
    And the CLI finishes
    Then the CLI polled exactly once
    And the gateway handed the CLI no key

    Examples:
      | status | detail                                 |
      | 400    | CLI login session not found or expired |
      | 403    | Invalid CLI polling secret             |

  @CLISSO-CLI-19
  Scenario: A refused login says why
    Given the gateway answers every poll of the CLI with 403 "Invalid CLI polling secret"
    When the developer starts a login with the CLI
    And the CLI finishes
    Then the CLI's output gives the reason "403" or "Invalid CLI polling secret"

  @CLISSO-CLI-20 @faketime
  Scenario: A login whose session runs out gives up
    Given the CLI runs on the gateway's clock
    And the gateway answers polls at once, as LiteLLM's does
    When the developer starts a login with the CLI
    And the CLI has polled once
    And the clocks move 601 seconds ahead
    And the CLI finishes
    Then the gateway handed the CLI no key

  @CLISSO-CLI-20 @faketime
  Scenario: A login whose session runs out gives up by the CLI's own clock, though the gateway still says pending
    Given the CLI runs on the gateway's clock
    And the gateway answers every poll of the CLI with "pending", even once the session has run out
    When the developer starts a login with the CLI
    And the CLI has polled once
    And the clocks move 601 seconds ahead
    And the CLI finishes
    Then the gateway handed the CLI no key

  @CLISSO-CLI-34 @faketime
  Scenario: A person who takes four minutes in the browser is still logged in
    Given the CLI runs on the gateway's clock
    And the gateway answers polls at once, as LiteLLM's does
    When the CLI shows the developer a login URL and a code
    And the CLI has polled once
    And the clocks move 240 seconds ahead
    And "cli-test-user" finishes that login in the browser
    And the CLI finishes
    Then the CLI's login is proven on the wire

  @CLISSO-CLI-21
  Scenario Outline: A user in several teams chooses <team> at the CLI's prompt
    Given the gateway's team question names each team
    When "bob" starts a login with the CLI and finishes it in the browser
    And the developer chooses "<team>" when the CLI asks for a team
    And the CLI finishes
    Then the CLI's last poll asked for team "<team>"
    And the CLI's login is proven on the wire

    Examples:
      | team       |
      | team-alpha |
      | team-beta  |

  @CLISSO-CLI-22
  Scenario Outline: A ready answer <how> expires_in works
    Given the gateway's ready answer to the CLI <change>
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI's login is proven on the wire

    Examples:
      | how     | change                        |
      | without | carries no "expires_in"       |
      | with    | carries "expires_in" of 86400 |
