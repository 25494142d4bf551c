Feature: When the IdP says no or fails
  A login that the IdP did not approve never hands a key to the CLI.

  @CLISSO-CALLBACK-02
  Scenario: The person denies the login at the IdP
    Given a CLI started a login session
    When the person denies the login at the IdP
    Then the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

  @CLISSO-CALLBACK-02
  Scenario Outline: The IdP's token endpoint fails (<failure>)
    Given the IdP's token endpoint <failure>
    And a CLI started a login session
    When "cli-test-user" signs in at the IdP for that session
    Then the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

    Examples:
      | failure                             |
      | answers with an invalid_grant error |
      | answers 500                         |
      | drops the connection                |

  @CLISSO-CALLBACK-02
  Scenario Outline: The IdP's userinfo endpoint fails (<failure>)
    Given the IdP's userinfo endpoint <failure>
    And a CLI started a login session
    When "cli-test-user" signs in at the IdP for that session
    Then the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

    Examples:
      | failure                                  |
      | answers with an invalid_token error      |
      | answers 500                              |
      | answers 200 with a body that is not JSON |
      | drops the connection                     |

  @CLISSO-CALLBACK-02
  Scenario: The IdP is down when the browser comes back
    Given the IdP's token endpoint cannot be reached
    And a CLI started a login session
    When "cli-test-user" signs in at the IdP for that session
    Then the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

  @CLISSO-CALLBACK-02
  Scenario: The browser comes back from the IdP without an authorization code
    Given a CLI started a login session
    When the browser comes back to the gateway's callback with the session's state but no code
    Then the gateway answers 4xx to that callback
    And polling with the poll secret does not hand out a key

  @CLISSO-CALLBACK-06
  Scenario Outline: An IdP answer for a login id the gateway never made signs no one in (<state>)
    Given the IdP has a user "zoe" with the claims:
      """
      {"sub": "c0ffee00-zoe", "preferred_username": "zoe", "email": "zoe@example.com"}
      """
    When "zoe" comes back from the IdP with the state of <state>
    Then the gateway answered the IdP's callback with 400
    And the gateway keeps no user "zoe"
    And polling with the poll secret answers "pending"

    Examples:
      | state                                                     |
      | a login id the gateway never made                         |
      | the session's login id with its letters in the other case |
      | the session's login id with one character more            |
      | the session's login id without its last character         |
      | the session's login id with its last character changed    |

  @CLISSO-CALLBACK-02
  Scenario: An IdP answer that carries both an error and a code is a refusal
    When "cli-test-user" signs in at the IdP for a new CLI session and the IdP's answer also says "access_denied"
    Then the gateway answers 4xx to that callback
    And polling with the poll secret does not hand out a key
