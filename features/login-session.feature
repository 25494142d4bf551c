Feature: Starting a CLI login session
  The CLI asks the gateway for a login session: an id the browser will carry, a poll secret only
  the CLI knows, and a code the person confirms in the browser.

  @CLISSO-START-01 @CLISSO-START-02
  Scenario: A new login session has a well-formed id, poll secret and code
    When a CLI starts a login session
    Then the gateway answers 200 with a login id, a poll secret, a user code and an expiry of 600 seconds
    And the login id, poll secret and user code have the contract's shape

  @CLISSO-START-03
  Scenario: Every login session is new
    When a CLI starts 3 login sessions
    Then no two sessions share a login id, a poll secret or a user code

  @CLISSO-START-04
  Scenario: Too many login starts from one client are refused
    Given a gateway of its own for this scenario
    When a CLI starts 30 login sessions within a minute
    And it starts one more
    Then the gateway answers 429 with a message
    And that answer holds no login session

  @CLISSO-ENTRY-01 @CLISSO-ENTRY-05
  Scenario: The browser is sent to the IdP with the session in the state
    Given a CLI started a login session
    When the browser opens the session's login URL
    Then it is redirected to the IdP's authorization endpoint
    And the redirect asks for a code for client "litellm-cli-test" with scope "openid email profile"
    And the redirect's state is "litellm-session-token:" followed by the login id
    And the redirect's callback is the gateway's /sso/callback

  @CLISSO-ENTRY-01
  Scenario: The callback address comes from PROXY_BASE_URL, not from the address the browser used
    Given the gateway's public base URL is "http://localhost:{port}"
    And a CLI started a login session
    When the browser opens the session's login URL
    Then it is redirected to the IdP's authorization endpoint
    And the redirect's callback is the gateway's /sso/callback

  @CLISSO-ENTRY-01
  Scenario: A trailing slash of PROXY_BASE_URL is not doubled in the callback address
    Given the gateway's public base URL is "http://localhost:{port}/"
    And a CLI started a login session
    When the browser opens the session's login URL
    Then the redirect's callback is the gateway's /sso/callback

  # The IdP knows this client as one that authenticates in the body (client_secret_post), and refuses
  # its code exchange authenticated with HTTP Basic.
  @CLISSO-CALLBACK-09
  Scenario: With GENERIC_INCLUDE_CLIENT_ID true the gateway redeems the code with its client id and secret in the body
    Given the gateway is the IdP's client that sends its id and secret in the token request's body, with GENERIC_INCLUDE_CLIENT_ID true
    When "cli-test-user" logged in through the browser and holds the key
    Then the key lists the models "gpt-4o-mini" at "/models"

  @CLISSO-ENTRY-05
  Scenario: The gateway asks the IdP for the scope it is configured with
    Given the gateway is configured with:
      | GENERIC_SCOPE | openid email profile groups |
    And a CLI started a login session
    When the browser opens the session's login URL
    Then the redirect asks for a code for client "litellm-cli-test" with scope "openid email profile groups"

  @CLISSO-ENTRY-04
  Scenario: With PKCE on, the redirect carries an S256 code challenge and the login still works
    Given the gateway is configured with:
      | GENERIC_CLIENT_USE_PKCE | true |
    And a CLI started a login session
    When the browser opens the session's login URL
    Then the redirect carries a code challenge with method "S256"
    And "cli-test-user" can finish that login in the browser

  # Section 7: the admin UI login runs the same sign-in at the IdP, with the same settings.
  @CLISSO-ENTRY-04
  Scenario: With PKCE on, the admin UI sign-in's redirect carries an S256 code challenge, and the sign-in still works
    Given the gateway is configured with:
      | GENERIC_CLIENT_USE_PKCE | true |
    When the browser opens the admin UI sign-in
    Then the redirect carries a code challenge with method "S256"
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts 600 seconds

  @CLISSO-ENTRY-05
  Scenario: The admin UI sign-in asks the IdP for the configured scope too
    Given the gateway is configured with:
      | GENERIC_SCOPE | openid email profile groups |
    When the browser opens the admin UI sign-in
    Then the redirect asks for a code for client "litellm-cli-test" with scope "openid email profile groups"

  @CLISSO-ENTRY-01
  Scenario: The admin UI sign-in's callback address comes from PROXY_BASE_URL too
    Given the gateway's public base URL is "http://localhost:{port}"
    When the browser opens the admin UI sign-in
    Then the redirect's callback is the gateway's /sso/callback

  @CLISSO-ENTRY-02 @CLISSO-ENTRY-03
  Scenario Outline: The browser entry refuses sessions the gateway did not create (<case>)
    When a browser opens the CLI login entry with key "<key>"
    Then the gateway answers 400 with a message
    And the browser is not sent to the IdP

    Examples:
      | case                               | key                                  |
      | no key                             |                                      |
      | malformed key                      | cli-short                            |
      | well-formed but unknown key        | cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA |
      | client-chosen first-generation key | sk-attacker-chosen-session-key       |

  @CLISSO-ENTRY-02
  Scenario Outline: The browser entry refuses the session's own login id one step off (<login id>)
    Given a CLI started a login session
    When a browser opens the CLI login entry with the session's login id <login id>
    Then the gateway answers 400 with a message
    And the browser is not sent to the IdP
    And polling with the poll secret answers "pending"

    Examples:
      | login id                           |
      | with its letters in the other case |
      | with "CLI-" for its "cli-"         |
      | without its "cli-"                 |
      | with one character more            |
      | without its last character         |
      | with its last character changed    |
