Feature: Mapping IdP claims into attribution metadata
  CLI_SSO_CLAIM_MAP copies claims that GENERIC_USER_EXTRA_ATTRIBUTES captured into the user's
  metadata; the poll answer carries them flattened with dots, and the user row keeps them nested.

  # Every profile stores the metadata nested; what becomes of a numeric string is each profile's
  # own rule (the scenarios of CLISSO-CLAIMS-07 and CLISSO-CLAIMS-11 below).
  @CLISSO-CLAIMS-01 @CLISSO-CLAIMS-02 @CLISSO-CLAIMS-07 @CLISSO-CLAIMS-11
  Scenario: Nested claims land flattened in the answer and nested on the user
    Given the gateway captures the IdP claims "org_info.department,org_info.cost_center"
    And the gateway maps claims with "org_info.department->org.department, org_info.cost_center->org.cost_center"
    When "alice" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"org.department": "Research", "org.cost_center": "CC-42"}
      """
    And the gateway stored this metadata on user "alice":
      """
      {"org": {"department": "Research", "cost_center": "CC-42"}}
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

  @CLISSO-CLAIMS-04
  Scenario: An empty CLI_SSO_CLAIM_MAP counts as not set: LITELLM_CLI_SSO_CLAIM_MAP is read
    Given the gateway captures the IdP claims "employment_type"
    And the gateway is configured with:
      | CLI_SSO_CLAIM_MAP         |                            |
      | LITELLM_CLI_SSO_CLAIM_MAP | employment_type->acme_kind |
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"acme_kind": "contractor"}
      """

  @CLISSO-CLAIMS-10
  Scenario: With both claim map names set, CLI_SSO_CLAIM_MAP's map is the one used
    Given the gateway captures the IdP claims "employment_type"
    And the gateway maps claims with "employment_type->kind"
    And the gateway is configured with:
      | LITELLM_CLI_SSO_CLAIM_MAP | employment_type->acme_kind |
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"kind": "contractor"}
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

  @CLISSO-CLAIMS-05
  Scenario: An entry with an empty side is no pair, and does not replace an earlier one
    Given the gateway captures the IdP claims "employment_type"
    And the gateway maps claims with "employment_type->who, ->who, employment_type->"
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"who": "contractor"}
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

  @CLISSO-CLAIMS-07
  Scenario: Strings that are a number are stored as numbers; strings that only hold one stay strings
    Given the IdP user "alice" also has the claims:
      """
      {"whole": "42", "negative": "-7", "decimal": "3.25", "digits_first": "42abc", "digits_last": "v42", "two_dots": "4.2.1"}
      """
    And the gateway captures the IdP claims "whole,negative,decimal,digits_first,digits_last,two_dots"
    And the gateway maps claims with "whole->whole, negative->negative, decimal->decimal, digits_first->digits_first, digits_last->digits_last, two_dots->two_dots"
    When "alice" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"whole": "42", "negative": "-7", "decimal": "3.25", "digits_first": "42abc", "digits_last": "v42", "two_dots": "4.2.1"}
      """
    And the gateway stored this metadata on user "alice":
      """
      {"whole": 42, "negative": -7, "decimal": 3.25, "digits_first": "42abc", "digits_last": "v42", "two_dots": "4.2.1"}
      """

  @CLISSO-CLAIMS-11
  Scenario: Strings that are a number are stored as the strings the IdP sent
    Given the IdP user "alice" also has the claims:
      """
      {"whole": "42", "negative": "-7", "decimal": "3.25", "digits_first": "42abc", "employee_number": "42"}
      """
    And the gateway captures the IdP claims "whole,negative,decimal,digits_first,employee_number,org_info.cost_center"
    And the gateway maps claims with "whole->whole, negative->negative, decimal->decimal, digits_first->digits_first, employee_number->employee_number, org_info.cost_center->org.cost_center"
    When "alice" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"whole": "42", "negative": "-7", "decimal": "3.25", "digits_first": "42abc", "employee_number": "42", "org.cost_center": "CC-42"}
      """
    And the gateway stored this metadata on user "alice":
      """
      {"whole": "42", "negative": "-7", "decimal": "3.25", "digits_first": "42abc", "employee_number": "42", "org": {"cost_center": "CC-42"}}
      """

  @CLISSO-FILTER-03 @CLISSO-CLAIMS-07 @CLISSO-CLAIMS-11
  Scenario: Numbers and booleans keep their type, zero and false included
    Given the IdP user "alice" also has the claims:
      """
      {"badge_number": 1234, "fte": 0.8, "floor": 0, "on_call": false}
      """
    And the gateway captures the IdP claims "badge_number,fte,floor,on_call"
    And the gateway maps claims with "badge_number->badge_number, fte->fte, floor->floor, on_call->on_call"
    When "alice" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"badge_number": 1234, "fte": 0.8, "floor": 0, "on_call": false}
      """
    And the gateway stored this metadata on user "alice":
      """
      {"badge_number": 1234, "fte": 0.8, "floor": 0, "on_call": false}
      """

  @CLISSO-CLAIMS-08
  Scenario: Claim map entries are trimmed, malformed ones are skipped, and each is split on its first "->"
    Given the gateway captures the IdP claims "employment_type,org_info.department"
    And the gateway maps claims with "  , employment_type, ->orphan, employment_type->,, org_info.department->dept->x ,   employment_type  ->  kind  ,org_info.department -> department  "
    When "cli-test-user" logs in through the browser
    Then the login answer carried exactly this attribution metadata:
      """
      {"kind": "contractor", "department": "Engineering"}
      """

  # Both sides of each part of the grammar in one login: only "->" separates, names keep their letter
  # case, and "metadata." goes only from the front of a destination, only when a name follows it.
  @CLISSO-CLAIMS-08 @CLISSO-CLAIMS-03 @CLISSO-CLAIMS-01 @CLISSO-CLAIMS-06
  Scenario: The claim map's grammar, entry by entry
    Given the gateway captures the IdP claims "employment_type,org_info.department"
    And the gateway maps claims with "employment_type->kind, employment_type->Kind, Employment_Type->source_in_capitals, employment_type=>fat_arrow, employment_type - > spaced_arrow, employment_type;semicolon->semi, employment_type->metadata., employment_type->metadata, employment_type->Metadata.capital_prefix, employment_type->x.metadata.inner, org_info.department->dept"
    When "cli-test-user" logs in through the browser
    Then the login answer's attribution metadata holds exactly the keys marked kept:
      | entry                                    | key                     | kept | kept as       |
      | employment_type->kind                    | kind                    | yes  | "contractor"  |
      | employment_type->Kind                    | Kind                    | yes  | "contractor"  |
      | Employment_Type->source_in_capitals      | source_in_capitals      | no   |               |
      | employment_type=>fat_arrow               | fat_arrow               | no   |               |
      | employment_type - > spaced_arrow         | spaced_arrow            | no   |               |
      | employment_type;semicolon->semi          | semi                    | no   |               |
      | employment_type->metadata.               | metadata.               | no   |               |
      | employment_type->metadata                | metadata                | yes  | "contractor"  |
      | employment_type->Metadata.capital_prefix | Metadata.capital_prefix | yes  | "contractor"  |
      | employment_type->x.metadata.inner        | x.metadata.inner        | yes  | "contractor"  |
      | org_info.department->dept                | dept                    | yes  | "Engineering" |

  @CLISSO-CLAIMS-09
  Scenario: A later login merges its metadata into what the user already has, one level deep
    Given the IdP has a user "dora" with the claims:
      """
      {"sub": "dora", "preferred_username": "dora", "email": "dora@example.com", "employment_type": "full_time", "org_info": {"department": "Research", "cost_center": "CC-7"}}
      """
    And the gateway captures the IdP claims "employment_type,org_info.department,org_info.cost_center,site"
    And the gateway maps claims with "employment_type->kind, org_info.department->org.department, org_info.cost_center->org.cost_center, site->site"
    When "dora" logs in through the browser
    Then the gateway stored this metadata on user "dora":
      """
      {"kind": "full_time", "org": {"department": "Research", "cost_center": "CC-7"}}
      """
    When the IdP's claims for "dora" change to:
      """
      {"sub": "dora", "preferred_username": "dora", "email": "dora@example.com", "org_info": {"department": "Platform"}, "site": "Berlin"}
      """
    And "dora" logs in again through the browser, in a new browser session
    Then the login answer carried exactly this attribution metadata:
      """
      {"org.department": "Platform", "site": "Berlin"}
      """
    And the gateway stored this metadata on user "dora":
      """
      {"kind": "full_time", "org": {"department": "Platform", "cost_center": "CC-7"}, "site": "Berlin"}
      """

  # Poll steps 4 and 6 (docs/contract.md section 2.5): the team question and the key that follows it
  # both carry the login's attribution metadata.
  @CLISSO-POLL-05 @CLISSO-POLL-07
  Scenario: A user in several teams gets the attribution metadata with the team question and with the key
    Given the IdP has a user "tamsin" with the claims:
      """
      {"sub": "tamsin", "preferred_username": "tamsin", "email": "tamsin@example.com", "employment_type": "full_time", "teams": ["team-alpha", "team-beta"]}
      """
    And the gateway captures the IdP claims "employment_type"
    And the gateway maps claims with "employment_type->kind"
    And "tamsin" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret
    Then the answer asks to choose between the teams "team-alpha, team-beta" and holds no key
    And that answer carries exactly this attribution metadata:
      """
      {"kind": "full_time"}
      """
    When the session is polled with the poll secret for team "team-beta"
    Then the answer is ready with a key for user "tamsin" and team "team-beta" of the teams "team-alpha, team-beta"
    And that answer carries exactly this attribution metadata:
      """
      {"kind": "full_time"}
      """
