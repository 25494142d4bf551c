Feature: Confirming the code in the browser
  After the IdP login, the gateway shows a page where the person types the code the CLI showed.
  Only that browser, with that code, can finish the login.

  @CLISSO-CALLBACK-01
  Scenario: After signing in, the browser is asked for the code the CLI shows
    Given a CLI started a login session
    When "alice" signs in at the IdP for that session
    Then the browser shows the "Complete CLI Login" page with a labelled code field
    And the page's form carries a browser token and posts to the session's completion address

  @CLISSO-COMPLETE-01
  Scenario Outline: The code is accepted however it is typed (<typed>)
    Given "alice" has signed in at the IdP for a CLI session
    When the code is typed in the browser <typed>
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

    Examples:
      | typed            |
      | as shown         |
      | in lower case    |
      | without the dash |

  @CLISSO-COMPLETE-01
  Scenario Outline: Only case and characters other than letters and digits do not count in the code (<written>)
    Given "alice" has signed in at the IdP for a CLI session
    When the session's code is posted from the browser <written>
    Then the gateway accepted the code
    And polling with the poll secret hands out the key

    Examples:
      | written                        |
      | with spaces around it          |
      | with a space for the dash      |
      | in lower case without the dash |

  @CLISSO-COMPLETE-02
  Scenario Outline: A code one step off the session's is refused, and the session waits for the right one (<written>)
    Given "alice" has signed in at the IdP for a CLI session
    When the session's code is posted from the browser <written>
    Then the gateway refused the code with 400
    And polling with the poll secret answers "pending"
    When the code is typed in the browser as shown
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

    Examples:
      | written                         |
      | with one character more         |
      | without its last character      |
      | with its last character changed |
      | with its halves swapped         |
      | twice                           |
      | empty                           |

  @CLISSO-COMPLETE-02
  Scenario: A wrong code is refused and the right one still works
    Given "alice" has signed in at the IdP for a CLI session
    When a wrong code is typed in the browser
    Then the gateway refused the code with 400
    And polling with the poll secret answers "pending"
    When the code is typed in the browser as shown
    Then polling with the poll secret hands out the key

  @CLISSO-COMPLETE-03
  Scenario: The code cannot be confirmed before the IdP login
    Given a CLI started a login session
    When someone posts the right code for that session before anyone signed in
    Then the gateway answers 400 with a message
    And polling with the poll secret answers "pending"

  @CLISSO-COMPLETE-04
  Scenario: A second browser cannot finish someone else's login, even with the code
    Given "alice" has signed in at the IdP for a CLI session
    When another browser posts the right code for that session without the page's browser token
    Then the gateway answers 400 with a message
    And polling with the poll secret answers "pending"

  @CLISSO-COMPLETE-04
  Scenario Outline: The right code without the page's own browser token is refused, even from the same browser (token <token>)
    Given "alice" has signed in at the IdP for a CLI session
    When the right code is posted from the browser with the browser token <token>
    Then the gateway refused the code with 400
    And polling with the poll secret answers "pending"
    When the code is typed in the browser as shown
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

    Examples:
      | token                           |
      | left out                        |
      | empty                           |
      | in the other case               |
      | with one character more         |
      | with its last character changed |

  @CLISSO-COMPLETE-06
  Scenario Outline: A completion for a session the gateway does not know is refused (<case>)
    When someone posts a code for the login id "<login id>"
    Then the gateway answers 400 with a message

    Examples:
      | case                       | login id                             |
      | malformed login id         | not-a-session                        |
      | well-formed but unknown id | cli-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB |

  @CLISSO-COMPLETE-05
  Scenario Outline: The fifth wrong code ends the session; four leave it open for the right one (<wrong> wrong codes)
    Given "alice" has signed in at the IdP for a CLI session
    When <wrong> wrong codes are posted for that session from the browser
    And the right code is posted from the browser
    Then the gateway <right code>
    And polling with the poll secret <then>

    Examples:
      | wrong | right code                 | then                |
      | 4     | accepted the code          | hands out the key   |
      | 5     | answers 400 with a message | is refused with 400 |

  # The page names the person by whatever it has (LiteLLM: the email, else the user id): the markup
  # sits in each field in turn, so that it is in the one shown whichever that is. One person per
  # case: a gateway may show what it stored from an earlier login of the same person.
  @CLISSO-CALLBACK-04
  Scenario Outline: What the IdP says about the user is shown as text, never as markup (<where>)
    Given the IdP has a user "<user>" with HTML markup in <where>
    And a CLI started a login session
    When "<user>" signs in at the IdP for that session
    Then the gateway's answer shows no markup from the IdP's claims

    Examples:
      | where                               | user         |
      | the user id, with an email          | eve-id       |
      | the user id, without an email       | eve-no-email |
      | the email                           | eve-email    |
      | the name, the role and other claims | eve-claims   |
