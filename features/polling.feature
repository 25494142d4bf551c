Feature: Polling for the key
  The CLI polls with its secret until the person has signed in and confirmed the code; then it
  gets the key, exactly once.

  @CLISSO-POLL-04
  Scenario: The answer is pending until the browser has signed in and confirmed the code
    Given a CLI started a login session
    Then polling with the poll secret answers "pending"
    When "cli-test-user" signs in at the IdP for that session but does not confirm the code yet
    Then polling with the poll secret answers "pending"

  @CLISSO-POLL-01
  Scenario Outline: Polling a session the gateway does not know is refused (<case>)
    When a CLI polls the login id "<login id>" with a poll secret
    Then the gateway answers 400 with a message

    Examples:
      | case                       | login id                             |
      | malformed login id         | not-a-session                        |
      | first-generation key       | sk-1234567890abcdef                  |
      | well-formed but unknown id | cli-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB |

  @CLISSO-POLL-01
  Scenario Outline: Polling with the right secret at the session's login id one step off is refused (<login id>)
    Given a CLI started a login session
    When the session is polled with the poll secret at its login id <login id>
    Then the gateway answers 400 with a message
    And the answer holds no key
    And polling with the poll secret answers "pending"

    Examples:
      | login id                           |
      | with its letters in the other case |
      | with "CLI-" for its "cli-"         |
      | without its "cli-"                 |
      | with one character more            |
      | without its last character         |
      | with its last character changed    |

  # The 600 s edge, by the gateway's own clock: a session N seconds old is at least N seconds old,
  # and older by no more than the harness's own delay (a few milliseconds).
  @CLISSO-START-05 @CLISSO-POLL-01
  Scenario Outline: A session lives 600 seconds (<age> seconds old)
    Given a CLI started a login session
    When the session is <age> seconds old by the gateway's clock
    Then polling with the poll secret <answer>

    Examples:
      | age | answer              |
      | 599 | answers "pending"   |
      | 600 | is refused with 400 |

  @CLISSO-POLL-01 @CLISSO-ENTRY-02
  Scenario: A session is gone for the CLI and for the browser once its 10 minutes are over
    Given a CLI started a login session
    When the session is 600 seconds old by the gateway's clock
    Then polling with the poll secret is refused with 400
    And opening the session's login URL in the browser is refused with 400

  @CLISSO-START-06
  Scenario: Every write of the session starts its 10 minutes again
    Given a CLI started a login session
    When the gateway's clock moves 400 seconds ahead
    And "cli-test-user" signs in at the IdP for that session but does not confirm the code yet
    And the gateway's clock moves another 400 seconds ahead
    Then polling with the poll secret answers "pending"
    When the code is confirmed in the browser
    Then polling with the poll secret hands out the key

  @CLISSO-START-06
  Scenario Outline: A written session lives 600 seconds from that write (<age> seconds past it)
    Given a CLI started a login session
    When the gateway's clock moves 400 seconds ahead
    And "cli-test-user" signs in at the IdP for that session but does not confirm the code yet
    And the session is <age> seconds past its last write by the gateway's clock
    Then polling with the poll secret <answer>

    Examples:
      | age | answer              |
      | 599 | answers "pending"   |
      | 600 | is refused with 400 |

  @CLISSO-POLL-02
  Scenario Outline: Polling a pending session without the right secret is refused and changes nothing (<case>)
    Given a CLI started a login session
    When the session is polled with <secret>
    Then the gateway answers 403 with a message
    And the answer holds no key
    And polling with the poll secret answers "pending"
    When "cli-test-user" signs in at the IdP and confirms the code for that session
    Then polling with the poll secret hands out the key

    Examples:
      | case         | secret           |
      | wrong secret | a wrong secret   |
      | no secret    | no secret at all |

  @CLISSO-POLL-02
  Scenario Outline: Polling without the right secret is refused and changes nothing (<case>)
    Given "cli-test-user" has signed in and confirmed the code for a CLI session
    When the session is polled with <secret>
    Then the gateway answers 403 with a message
    And polling with the poll secret still hands out the key

    Examples:
      | case         | secret           |
      | wrong secret | a wrong secret   |
      | no secret    | no secret at all |

  @CLISSO-POLL-02
  Scenario Outline: A poll secret that is not exactly the session's is refused and changes nothing (<secret>)
    Given a CLI started a login session
    When the session is polled with the poll secret <secret>
    Then the gateway answers 403 with a message
    And the answer holds no key
    And polling with the poll secret answers "pending"

    Examples:
      | secret                                |
      | in the other case                     |
      | with one character more               |
      | without its last character            |
      | with its last character changed       |
      | empty                                 |
      | of another session                    |
      | after a wrong one, in a second header |

  @CLISSO-POLL-03
  Scenario: A poll secret in the query string is ignored
    Given "cli-test-user" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret in the query string only
    Then the gateway answers 403 with a message

  @CLISSO-POLL-07 @CLISSO-POLL-08 @CLISSO-POLL-10
  Scenario: The key is handed out once, with who it is for and how long it lasts
    Given "cli-test-user" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret
    Then the answer is ready with a key for user "cli-test-user" and no team
    And the ready answer's expires_in, when the gateway sends one, is 24 hours
    And polling again is refused with 400

  @CLISSO-POLL-09
  Scenario: A long poll answers as soon as the code is confirmed
    Given "cli-test-user" has signed in at the IdP for a CLI session
    When the CLI polls asking to wait up to 25 seconds
    And the code is confirmed in the browser while the poll waits
    Then the waiting poll answers ready with a key before its wait is over

  @CLISSO-POLL-05 @CLISSO-POLL-06 @CLISSO-POLL-02
  Scenario: A user in several teams chooses one
    Given "bob" has signed in and confirmed the code for a CLI session
    When the session is polled with a wrong secret
    Then the gateway answers 403 with a message
    And the answer holds no key
    When the session is polled with the poll secret
    Then the answer asks to choose between the teams "team-alpha, team-beta" and holds no key
    When the session is polled with the poll secret for team "team-gamma"
    Then the gateway answers 403 with a message
    When the session is polled with the poll secret for team "team-beta"
    Then the answer is ready with a key for user "bob" and team "team-beta" of the teams "team-alpha, team-beta"

  @CLISSO-POLL-07 @CLISSO-POLL-10
  Scenario: A user in exactly one team gets the key for that team without choosing
    Given "alice" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret
    Then the answer is ready with a key for user "alice" and team "team-alpha" of the teams "team-alpha"

  @CLISSO-POLL-06
  Scenario: A user in exactly one team cannot ask for a key for another team
    Given "alice" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret for team "team-beta"
    Then the gateway answers 403 with a message
    And the answer holds no key
    When the session is polled with the poll secret
    Then the answer is ready with a key for user "alice" and team "team-alpha" of the teams "team-alpha"

  @CLISSO-POLL-06
  Scenario Outline: Only a team id that is exactly one of the user's gets a key (<team id>)
    Given "alice" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret for team "<team id>"
    Then the gateway answers 403 with a message
    And the answer holds no key
    When the session is polled with the poll secret for team "team-alpha"
    Then the answer is ready with a key for user "alice" and team "team-alpha" of the teams "team-alpha"

    Examples:
      | team id     |
      | TEAM-ALPHA  |
      | team-alph   |
      | team-alphaa |

  @CLISSO-POLL-04
  Scenario: A session still waiting for the browser answers pending, whatever team is asked for
    Given a CLI started a login session
    Then polling with the poll secret for team "team-gamma" answers "pending"

  @CLISSO-POLL-04
  Scenario Outline: A poll with a wait it cannot use is still answered (Prefer: <prefer>)
    Given a CLI started a login session
    When the session is polled with the poll secret and "Prefer: <prefer>"
    Then the answer is 200 "pending"

    Examples:
      | prefer   |
      | wait=0   |
      | wait=-1  |
      | wait=abc |
      | wait=1.5 |

  @CLISSO-POLL-12
  Scenario Outline: A wait of 0, or one that is not a whole number of seconds, is not held (Prefer: <prefer>)
    Given a CLI started a login session
    When the session is polled with the poll secret and "Prefer: <prefer>"
    Then the answer is 200 "pending"
    And it was answered at once, without "Preference-Applied: wait"

    Examples:
      | prefer   |
      | wait=0   |
      | wait=-1  |
      | wait=abc |
      | wait=1.5 |

  @CLISSO-POLL-09
  Scenario Outline: A long poll on a session that does not change is held as long as asked (wait=<seconds>)
    Given a CLI started a login session
    When the session is polled with the poll secret and "Prefer: wait=<seconds>"
    Then the answer is 200 "pending"
    And it was held <seconds> seconds, saying "Preference-Applied: wait=<seconds>"

    Examples:
      | seconds |
      | 1       |
      | 2       |

  @CLISSO-POLL-12
  Scenario Outline: A poll is held at most 30 seconds, however long it asks to wait (wait=<asked>)
    Given "cli-test-user" has signed in at the IdP for a CLI session
    When the CLI polls asking to wait up to <asked> seconds
    And the code is confirmed in the browser while the poll waits
    Then the waiting poll answers ready with a key before its wait is over
    And the waiting poll's answer says "Preference-Applied: wait=30"

    Examples:
      | asked |
      | 30    |
      | 31    |

  @CLISSO-POLL-11
  Scenario: Of polls racing for the key, exactly one gets it
    Given "cli-test-user" has signed in and confirmed the code for a CLI session
    When 5 polls with the poll secret are sent at once
    Then exactly one of them hands out a key and the others are refused with 400
