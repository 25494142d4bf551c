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

  @CLISSO-CONFIG-01
  Scenario Outline: A value just outside a setting's rule is named at start-up (<name>=<value>)
    Given the gateway is configured with:
      | <name> | <value> |
    When the gateway is started
    Then it refuses to start, naming "<name>"

    Examples:
      | name                             | value |
      | EXPERIMENTAL_UI_LOGIN            | 1     |
      | EXPERIMENTAL_UI_LOGIN            | yes   |
      | EXPERIMENTAL_UI_LOGIN            | truee |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | 0     |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | -1    |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | 1.5   |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | 24h   |
      | CLI_JWT_EXPIRATION_HOURS         | 0     |

  @CLISSO-CONFIG-01
  Scenario Outline: A value just inside a setting's rule starts the gateway (<name>=<value>)
    Given the gateway is configured with:
      | <name> | <value> |
    When the gateway is started
    Then it starts

    Examples:
      | name                             | value |
      | EXPERIMENTAL_UI_LOGIN            | TRUE  |
      | EXPERIMENTAL_UI_LOGIN            | false |
      | LITELLM_CLI_JWT_EXPIRATION_HOURS | 1     |
