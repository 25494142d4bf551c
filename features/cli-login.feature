Feature: Log in from the command line through the browser
  A developer runs the CLI's login, signs in at the company's IdP in the browser, confirms the
  code the CLI showed, and the CLI stores a key that opens the gateway's API.

  @CLISSO-CLI-01 @CLISSO-CLI-02 @CLISSO-CLI-03 @CLISSO-CLAIMS-01
  Scenario: LiteLLM's default user logs in and lists the models
    Given the gateway maps claims with "employment_type->acme_employment_type,org_info.department->department"
    And the gateway captures the IdP claims "employment_type,org_info.department"
    When "cli-test-user" logs in with the CLI through the browser
    Then the CLI reports a successful login
    And the token file is readable only by its owner
    And the login answer carried the attribution metadata:
      | acme_employment_type | contractor  |
      | department           | Engineering |
    And the CLI lists the models "gpt-4o-mini, claude-3-haiku"
