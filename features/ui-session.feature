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
