Feature: The admin UI login and its session length
  The same IdP login without the CLI signs a person in to the admin UI. Under EXPERIMENTAL_UI_LOGIN
  the UI session lasts 10 minutes whatever LITELLM_UI_SESSION_DURATION says.

  @CLISSO-UI-01
  Scenario Outline: Under EXPERIMENTAL_UI_LOGIN the UI session lasts 10 minutes (LITELLM_UI_SESSION_DURATION <duration>)
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN       | True       |
      | LITELLM_UI_SESSION_DURATION | <duration> |
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts 600 seconds

    Examples:
      | duration |
      | 24h      |
      | 5m       |

  @CLISSO-UI-02
  Scenario Outline: Without it, the UI session lasts LITELLM_UI_SESSION_DURATION (<duration>)
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN       | False      |
      | LITELLM_UI_SESSION_DURATION | <duration> |
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts <seconds> seconds

    Examples:
      | duration | seconds |
      | 30m      | 1800    |
      | 24h      | 86400   |
      | 7d       | 604800  |

  # Both settings' defaults: EXPERIMENTAL_UI_LOGIN is off unless set, and the session lasts 24h.
  @CLISSO-UI-02
  Scenario: With neither EXPERIMENTAL_UI_LOGIN nor LITELLM_UI_SESSION_DURATION set, the UI session lasts 24 hours
    Given the gateway is configured without EXPERIMENTAL_UI_LOGIN
    And the gateway is configured without LITELLM_UI_SESSION_DURATION
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts 86400 seconds

  @CLISSO-UI-03
  Scenario: The admin UI shows what the IdP says about the user as text, never as markup
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN | True |
    And the IdP has a user "eve-ui" with HTML markup in the user id, the name and the role
    When "eve-ui" signs in to the admin UI in the browser
    Then the admin UI page shows no markup from the IdP's claims

  # RFC 6749 section 10.12 (login CSRF): an IdP answer for a sign-in this browser did not start must
  # not sign this browser in. LiteLLM does not bind the UI sign-in to the browser: a SHOULD.
  @CLISSO-UI-04
  Scenario: An admin UI sign-in is finished only by the browser that started it
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN | True |
    When "alice" starts an admin UI sign-in and the IdP's answer is taken to another browser
    Then the gateway refuses the other browser with a 4xx and gives it no session cookie

  # Section 7: the admin UI sign-in comes back to the same callback, where ALLOWED_EMAIL_DOMAINS holds too.
  @CLISSO-CALLBACK-03
  Scenario: A user from a domain the gateway does not allow gets no admin UI session either
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | example.com |
    And the IdP has a user "ulla" with the email "ulla@other.example"
    When "ulla" signs in at the IdP for an admin UI sign-in
    Then the gateway refused that admin UI sign-in with 401 and gave the browser no session cookie
