Feature: The admin UI login and its session length
  The same IdP login without the CLI signs a person in to the admin UI. Under EXPERIMENTAL_UI_LOGIN
  the UI session lasts 10 minutes whatever LITELLM_UI_SESSION_DURATION says.

  @CLISSO-UI-01
  Scenario: Under EXPERIMENTAL_UI_LOGIN the UI session lasts 10 minutes
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN       | True |
      | LITELLM_UI_SESSION_DURATION | 24h  |
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts 600 seconds

  @CLISSO-UI-02
  Scenario: Without it, the UI session lasts LITELLM_UI_SESSION_DURATION
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN       | False |
      | LITELLM_UI_SESSION_DURATION | 30m   |
    When "alice" signs in to the admin UI in the browser
    Then the browser holds a UI session that lasts 1800 seconds
