@cli
Feature: A CLI uses the PKCE-native login the gateway advertises
  Current LiteLLM's CLI, and others written after it, ask the gateway for its PKCE-native login
  first and run it where it is advertised: the person approves on the gateway's consent page, and
  the key comes from the token endpoint. The rest of the CLI chapter hides that login from the CLI
  and judges its classic login; here the CLI finds it. A CLI that speaks only the classic login is
  warned, not failed.

  @CLISSO-CLI-33
  Scenario: Offered the PKCE login, the CLI logs in with it
    Given the CLI finds the PKCE-native login the gateway advertises
    When "cli-test-user" logs in with the CLI, approving in the browser what it asks
    And the developer lists the models with the CLI
    Then the CLI sent the key the gateway's token endpoint handed it
