Feature: What an attacker tries on a gateway
  An outsider attacked a gateway on loopback, with an IdP account of their own and a login id they
  had seen. These scenarios replay what worked there, so that no gateway lets it work again.
  Where LiteLLM itself would let the attack through (it ignores email_verified, lower-cases the
  Kelvin sign into a "k", sends no security headers), the rule is a SHOULD: a warning, not a failure.

  # ---- Logging in as someone else through the IdP's email (docs/contract.md section 4) ----

  @CLISSO-IDENTITY-07
  Scenario: An email the IdP has not verified does not make someone the user with that email
    Given the IdP has a user "vera" with the claims:
      """
      {"sub": "vera-0001", "email": "vera.verified@kiwi.example", "email_verified": true}
      """
    And "vera" logs in through the browser
    And the login answer is for user "vera.verified@kiwi.example"
    And the IdP has a user "trudy" with the claims:
      """
      {"sub": "trudy-0001", "email": "vera.verified@kiwi.example", "email_verified": false}
      """
    When "trudy" tries to log in through the browser, in a new browser session
    Then "trudy" did not become the user "vera.verified@kiwi.example"

  @CLISSO-IDENTITY-08
  Scenario: An email that only looks like a user's once lower-cased does not make someone that user
    Given the IdP has a user "vera" with the claims:
      """
      {"sub": "vera-0002", "email": "vera.kelvin@kiwi.example", "email_verified": true}
      """
    And "vera" logs in through the browser
    And the login answer is for user "vera.kelvin@kiwi.example"
    # U+212A KELVIN SIGN: a mailbox of another domain, whose plain lower-casing is "k".
    And the IdP has a user "trudy" with the claims:
      """
      {"sub": "trudy-0002", "email": "VERA.KELVIN@\u212Aiwi.example", "email_verified": true}
      """
    When "trudy" tries to log in through the browser, in a new browser session
    Then "trudy" did not become the user "vera.kelvin@kiwi.example"

  @CLISSO-IDENTITY-07
  Scenario: ALLOWED_EMAIL_DOMAINS does not let in an email the IdP has not verified
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | kiwi.example |
    And the IdP has a user "trudy" with the claims:
      """
      {"sub": "trudy-0003", "preferred_username": "trudy", "email": "trudy@kiwi.example", "email_verified": false}
      """
    And a CLI started a login session
    When "trudy" signs in at the IdP for that session
    Then the gateway answers 4xx to that callback
    And the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

  @CLISSO-IDENTITY-08
  Scenario Outline: ALLOWED_EMAIL_DOMAINS does not let in an email that only looks like it is in the domain (<case>)
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | kiwi.example |
    And the IdP has a user "trudy" with the claims:
      """
      {"sub": "trudy-0004", "preferred_username": "trudy", "email": "<email>", "email_verified": true}
      """
    And a CLI started a login session
    When "trudy" signs in at the IdP for that session
    Then the gateway answers 4xx to that callback
    And the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

    Examples:
      | case                         | email                       |
      | Kelvin sign in the domain    | trudy@\u212Aiwi.example     |
      | a second @ before the domain | x@evil.example@kiwi.example |

  # ---- Identities of hostile length or content (section 4) ----

  @CLISSO-IDENTITY-09
  Scenario Outline: A claim of 20,000 characters (<claim>) is refused clearly, or its login works to the end
    Given the IdP has a user "hugo" whose <claim> claim is 20000 characters long
    When "hugo" tries to log in through the browser, in a new browser session
    Then the login was refused with a 4xx, or its key opens the model list

    Examples:
      | claim              |
      | preferred_username |
      | email              |
      | teams              |

  @CLISSO-IDENTITY-09
  Scenario: A user id with terminal escapes and a NUL is refused clearly, or its login works to the end
    Given the IdP has a user "hugo" whose preferred_username holds control characters
    When "hugo" tries to log in through the browser, in a new browser session
    Then the login was refused with a 4xx, or its key opens the model list

  # ---- A stranger who knows the login id (section 2.4) ----

  @CLISSO-COMPLETE-07
  Scenario: A stranger's wrong codes do not end a login before its code is confirmed
    Given "alice" has signed in at the IdP for a CLI session
    When a stranger who knows the login id posts 6 wrong codes for it
    And the code is typed in the browser as shown
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

  @CLISSO-COMPLETE-07
  Scenario: Once the code is confirmed, no wrong code ends the login, a stranger's or the browser's own
    Given "alice" has signed in at the IdP for a CLI session
    And the browser token on the completion page is noted
    And the code is typed in the browser as shown
    And the browser shows that authentication succeeded
    When a stranger who knows the login id posts 6 wrong codes for it
    And 6 wrong codes are posted with that browser token
    Then polling with the poll secret hands out the key

  @CLISSO-CALLBACK-08
  Scenario: A sign-in that comes back after the code was confirmed is refused and changes nothing
    Given "alice" has signed in at the IdP for a CLI session
    And in another browser, "bob" opened the session's login URL and waits at the IdP's sign-in page
    When the code is typed in the browser as shown
    And the browser shows that authentication succeeded
    And "bob" signs in at the IdP's page in the other browser
    Then the other browser is not shown the completion form
    And polling with the poll secret hands out the key
    And the login answer is for user "alice"

  # ---- Stretching a login's 10 minutes (section 2.1) ----

  @CLISSO-START-07
  Scenario: Opening the browser link again and again does not stretch a session's 10 minutes
    Given a CLI started a login session
    When the gateway's clock moves 300 seconds ahead
    And someone opens the session's browser link without signing in
    And the gateway's clock moves another 290 seconds ahead
    And someone opens the session's browser link without signing in
    And the gateway's clock moves another 20 seconds ahead
    Then polling with the poll secret is refused with 400
    And opening the session's login URL in the browser is refused with 400

  @CLISSO-START-08
  Scenario: Signing in again does not stretch a session past 20 minutes
    Given a CLI started a login session
    When the gateway's clock moves 400 seconds ahead
    And "cli-test-user" signs in at the IdP for that session but does not confirm the code yet
    And the gateway's clock moves another 500 seconds ahead
    And "cli-test-user" signs in at the IdP for that session again, in a new browser session
    And the gateway's clock moves another 310 seconds ahead
    Then polling with the poll secret is refused with 400

  # ---- What the gateway's answers tell a browser (sections 2.1, 2.3 and 2.4) ----

  @CLISSO-CALLBACK-07
  Scenario: The gateway's pages cannot be framed by another site, sniffed, or leak their address
    Given the browser keeps the headers of the gateway's answers
    And "alice" has signed in at the IdP for a CLI session
    Then the completion page's answer forbids framing, type sniffing and referrers
    And the gateway's JSON answers forbid type sniffing
    When the code is typed in the browser as shown
    Then the browser shows that authentication succeeded
    And the success page's answer forbids framing, type sniffing and referrers
    And the answers that hand out and use the key forbid type sniffing

  @CLISSO-START-09
  Scenario: A refused start says when to try again
    Given a gateway of its own for this scenario
    When a CLI starts 30 login sessions within a minute
    And it starts one more
    Then the gateway answers 429 with a message
    And that answer says within a minute when to try again
