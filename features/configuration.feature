Feature: Configuration mistakes are reported at start-up
  A gateway given invalid settings stops at once and names every bad setting, instead of running
  with a guess (LiteLLM treats EXPERIMENTAL_UI_LOGIN=1 as off and crashes later on hours=abc).

  @CLISSO-CONFIG-01
  Scenario: Every invalid setting is named at start-up
    Given the gateway is configured with:
      | EXPERIMENTAL_UI_LOGIN            | 1   |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | abc |
    When the gateway is started
    Then it refuses to start, naming "EXPERIMENTAL_UI_LOGIN" and "LITELLM_CLI_JWT_EXPIRATION_HOURS"
