Feature: Mapping IdP claims into attribution metadata
  CLI_SSO_CLAIM_MAP copies claims that GENERIC_USER_EXTRA_ATTRIBUTES captured into the user's
  metadata; the poll answer carries them flattened with dots, and the user row keeps them nested.

  @CLISSO-CLAIMS-01 @CLISSO-CLAIMS-02 @CLISSO-CLAIMS-07
  Scenario: Nested claims land flattened in the answer and nested on the user
    Given the gateway captures the IdP claims "org_info.department,org_info.cost_center,employee_number"
    And the gateway maps claims with "org_info.department->org.department, org_info.cost_center->org.cost_center, employee_number->employee_number"
    When "alice" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"org.department": "Research", "org.cost_center": "CC-42", "employee_number": "42"}
      """
    And the gateway stored this metadata on user "alice":
      """
      {"org": {"department": "Research", "cost_center": "CC-42"}, "employee_number": 42}
      """

  @CLISSO-CLAIMS-03
  Scenario: A destination's "metadata." prefix is dropped once
    Given the gateway captures the IdP claims "employment_type,org_info.department"
    And the gateway maps claims with "employment_type->metadata.kind,org_info.department->metadata.metadata.department"
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"kind": "contractor", "metadata.department": "Engineering"}
      """

  @CLISSO-CLAIMS-04
  Scenario: The claim map is read from LITELLM_CLI_SSO_CLAIM_MAP when CLI_SSO_CLAIM_MAP is not set
    Given the gateway captures the IdP claims "employment_type"
    And the gateway reads its claim map from LITELLM_CLI_SSO_CLAIM_MAP "employment_type->acme_kind"
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"acme_kind": "contractor"}
      """

  @CLISSO-CLAIMS-05
  Scenario: A later pair for the same destination wins
    Given the gateway captures the IdP claims "employment_type,org_info.department"
    And the gateway maps claims with "employment_type->who,org_info.department->who"
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"who": "Engineering"}
      """

  @CLISSO-CLAIMS-06
  Scenario: A claim the gateway did not capture yields nothing
    Given the gateway captures the IdP claims "org_info.department"
    And the gateway maps claims with "employment_type->kind,org_info.department->department"
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"department": "Engineering"}
      """

  @CLISSO-CLAIMS-06
  Scenario: When nothing is kept there is no attribution metadata at all
    Given the gateway captures the IdP claims "org_info.department"
    And the gateway maps claims with "employment_type->kind"
    When "cli-test-user" logs in through the browser
    Then the login answer carried no attribution metadata
