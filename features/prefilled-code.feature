Feature: The pre-filled verification code (v4, opt-in)
  A gateway configured with LiteLLM's general_settings.allow_cli_sso_verification_uri_complete adds
  verification_uri_complete to the start answer: the session's browser URL with its code. Opened in
  a browser, the code page comes with the code filled in, and the person still confirms it before
  the CLI gets a key. Off (the default), the field is absent. The harness writes the setting into the
  config file of the gateways it starts; a gateway that does not offer the field with it on fails
  CLISSO-PREFILL-01 (a SHOULD: the setting is opt-in) and has the scenarios that open the link
  skipped.

  @CLISSO-PREFILL-05
  Scenario: Without the setting the start answer has no verification_uri_complete
    When a CLI starts a login session
    Then the start answer has no verification_uri_complete

  @CLISSO-PREFILL-01
  Scenario: With the setting on, the start answer carries the session's browser URL with its code
    Given the gateway is configured to offer verification_uri_complete
    When a CLI starts a login session
    Then the start answer's verification_uri_complete is the session's browser URL with its user_code

  @CLISSO-PREFILL-01
  Scenario: verification_uri_complete is under PROXY_BASE_URL, not the address the CLI used
    Given the gateway is configured to offer verification_uri_complete
    And the gateway's public base URL is "http://localhost:{port}"
    When a CLI starts a login session
    Then the offered verification_uri_complete is the session's browser URL under the public base URL

  @CLISSO-PREFILL-02
  Scenario: Opening verification_uri_complete shows the code page with the code filled in
    Given the gateway is configured to offer verification_uri_complete
    And a CLI started a login session
    When "alice" signs in at the IdP through the session's verification_uri_complete
    Then the code field holds the session's code

  @CLISSO-PREFILL-03
  Scenario: With the code filled in, the CLI still gets no key until the person submits it
    Given the gateway is configured to offer verification_uri_complete
    And a CLI started a login session
    When "alice" signs in at the IdP through the session's verification_uri_complete
    Then the browser shows the code page
    And polling with the poll secret answers "pending"
    When the code is typed in the browser as shown
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

  @CLISSO-PREFILL-06
  Scenario: The code filled in is the session's own: the page submitted as it is confirms the login
    Given the gateway is configured to offer verification_uri_complete
    And a CLI started a login session
    When "alice" signs in at the IdP through the session's verification_uri_complete
    And the person submits the code page as it is
    Then the browser shows that authentication succeeded
    And polling with the poll secret hands out the key

  @CLISSO-PREFILL-04
  Scenario Outline: A user_code not of the form XXXX-XXXX in the code alphabet is not filled in (<user_code>)
    Given the gateway is configured to offer verification_uri_complete
    And a CLI started a login session
    When "alice" signs in at the IdP through the session's browser URL with user_code "<user_code>"
    Then the code field is empty

    Examples:
      | user_code     |
      | abcd-efgh     |
      | ABCD-EFG1     |
      | ABCDEFGH      |
      | ABCD-EFGHJ    |
      | ABCD<b>EFGH   |
