Feature: Who the IdP says the user is
  The gateway builds the user from the IdP's userinfo answer: the user id comes from
  GENERIC_USER_ID_ATTRIBUTE (default preferred_username), never from the subject by accident; when
  that is empty, from the first and last name, then from the email. The email is lower-cased, a
  role claim counts only when it names a known role, and ALLOWED_EMAIL_DOMAINS lets in only the
  listed domains (exactly: a subdomain is another domain).

  @CLISSO-IDENTITY-01 @CLISSO-IDENTITY-03
  Scenario: The user id is the preferred_username, not the subject, and the email is lower-cased
    Given the IdP has a user "dana" with the claims:
      """
      {"sub": "7d1f0c9e-5b7a-4d1e-9a63-2f0b8c4e1a55", "preferred_username": "dana.doe",
       "email": "Dana.Doe@Example.COM", "email_verified": true, "staff": {"number": "S-1001"}}
      """
    When "dana" logs in through the browser
    Then the login answer is for user "dana.doe"
    And the gateway's user "dana.doe" has the email "dana.doe@example.com"

  @CLISSO-IDENTITY-01
  Scenario Outline: GENERIC_USER_ID_ATTRIBUTE chooses the claim the user id comes from (<attribute>)
    Given the IdP has a user "dana" with the claims:
      """
      {"sub": "7d1f0c9e-5b7a-4d1e-9a63-2f0b8c4e1a55", "preferred_username": "dana.doe",
       "email": "dana@example.com", "email_verified": true, "staff": {"number": "S-1001"}}
      """
    And the gateway is configured with:
      | GENERIC_USER_ID_ATTRIBUTE | <attribute> |
    When "dana" logs in through the browser
    Then the login answer is for user "<user id>"

    Examples:
      | attribute    | user id                              |
      | sub          | 7d1f0c9e-5b7a-4d1e-9a63-2f0b8c4e1a55 |
      | staff.number | S-1001                               |

  @CLISSO-IDENTITY-05
  Scenario Outline: In a claim path, "\." is a literal dot and a leading "metadata." is ignored (<attribute>)
    Given the IdP has a user "dana" with the claims:
      """
      {"sub": "7d1f0c9e-5b7a-4d1e-9a63-2f0b8c4e1a55", "preferred_username": "dana.doe",
       "email": "dana@example.com", "email_verified": true, "staff.id": "S-2002",
       "staff": {"id": "S-NESTED", "number": "S-1001"}, "metadata": {"staff": {"number": "S-METADATA"}}}
      """
    And the gateway is configured with:
      | GENERIC_USER_ID_ATTRIBUTE | <attribute> |
    When "dana" logs in through the browser
    Then the login answer is for user "<user id>"

    Examples:
      | attribute             | user id |
      | staff\\.id            | S-2002  |
      | metadata.staff.number | S-1001  |

  @CLISSO-IDENTITY-02
  Scenario: Without the id claim, the user id is the first and last name
    Given the IdP has a user "gus" with the claims:
      """
      {"sub": "c0ffee00-gus", "given_name": "Gus", "family_name": "Grant", "email": "gus@example.com"}
      """
    And the gateway is configured with:
      | GENERIC_USER_FIRST_NAME_ATTRIBUTE | given_name  |
      | GENERIC_USER_LAST_NAME_ATTRIBUTE  | family_name |
    When "gus" logs in through the browser
    Then the login answer is for a user id made of "Gus" and "Grant"

  @CLISSO-IDENTITY-02
  Scenario: An empty id claim counts as none: the user id is the first and last name
    Given the IdP has a user "gil" with the claims:
      """
      {"sub": "c0ffee00-gil", "preferred_username": "", "given_name": "Gil", "family_name": "Gray", "email": "gil@example.com"}
      """
    And the gateway is configured with:
      | GENERIC_USER_FIRST_NAME_ATTRIBUTE | given_name  |
      | GENERIC_USER_LAST_NAME_ATTRIBUTE  | family_name |
    When "gil" logs in through the browser
    Then the login answer is for a user id made of "Gil" and "Gray"

  @CLISSO-IDENTITY-02 @CLISSO-IDENTITY-03
  Scenario: Without the id claim or a name, the user id is the lower-cased email
    Given the IdP has a user "hana" with the claims:
      """
      {"sub": "c0ffee00-hana", "email": "Hana.Hill@Example.COM"}
      """
    And the gateway is configured with:
      | GENERIC_USER_FIRST_NAME_ATTRIBUTE | given_name  |
      | GENERIC_USER_LAST_NAME_ATTRIBUTE  | family_name |
    When "hana" logs in through the browser
    Then the login answer is for user "hana.hill@example.com"

  @CLISSO-IDENTITY-06
  Scenario: A person the IdP gives no id claim, no name and no email gets no key
    Given the IdP has a user "nobody" with the claims:
      """
      {"sub": "c0ffee00-nobody"}
      """
    And the gateway is configured with:
      | GENERIC_USER_FIRST_NAME_ATTRIBUTE | given_name  |
      | GENERIC_USER_LAST_NAME_ATTRIBUTE  | family_name |
    And a CLI started a login session
    When "nobody" signs in at the IdP for that session
    Then the gateway answers 4xx to that callback
    And polling with the poll secret does not hand out a key

  @CLISSO-IDENTITY-04
  Scenario: A role claim that is not a known role gives a new user internal_user_viewer
    Given the IdP has a user "ivan" with the claims:
      """
      {"sub": "ivan", "preferred_username": "ivan", "email": "ivan@example.com", "role": "admin"}
      """
    When "ivan" logs in through the browser
    Then the gateway's user "ivan" has the role "internal_user_viewer"

  @CLISSO-IDENTITY-04
  Scenario Outline: A role claim one step off a known role counts as no role (<role>)
    Given the IdP has a user "ivan" with the claims:
      """
      {"sub": "ivan", "preferred_username": "ivan", "email": "ivan@example.com", "role": "<role>"}
      """
    When "ivan" logs in through the browser
    Then the gateway's user "ivan" has the role "internal_user_viewer"

    Examples:
      | role           |
      | INTERNAL_USER  |
      | internal_users |
      | internal_use   |

  @CLISSO-IDENTITY-04
  Scenario: A role claim that names a known role is used
    Given the IdP has a user "judy" with the claims:
      """
      {"sub": "judy", "preferred_username": "judy", "email": "judy@example.com", "role": "internal_user"}
      """
    When "judy" logs in through the browser
    Then the gateway's user "judy" has the role "internal_user"

  @CLISSO-IDENTITY-11
  Scenario: GENERIC_USER_EMAIL_ATTRIBUTE chooses the claim the email comes from
    Given the IdP has a user "mira" with the claims:
      """
      {"sub": "c0ffee00-mira", "preferred_username": "mira", "email": "mira@personal.example",
       "email_verified": true, "work_email": "mira.moss@example.com"}
      """
    And the gateway is configured with:
      | GENERIC_USER_EMAIL_ATTRIBUTE | work_email |
    When "mira" logs in through the browser
    Then the gateway's user "mira" has the email "mira.moss@example.com"

  @CLISSO-IDENTITY-11
  Scenario: GENERIC_USER_ROLE_ATTRIBUTE chooses the claim the role comes from
    Given the IdP has a user "rory" with the claims:
      """
      {"sub": "c0ffee00-rory", "preferred_username": "rory", "email": "rory@example.com",
       "role": "proxy_admin_viewer", "litellm_role": "internal_user"}
      """
    And the gateway is configured with:
      | GENERIC_USER_ROLE_ATTRIBUTE | litellm_role |
    When "rory" logs in through the browser
    Then the gateway's user "rory" has the role "internal_user"

  @CLISSO-CALLBACK-05
  Scenario Outline: A user of an allowed domain logs in as usual (ALLOWED_EMAIL_DOMAINS=<allowed>)
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | <allowed> |
    When "alice" logs in through the browser
    Then the login answer is for user "alice"

    Examples:
      | allowed                   |
      | example.com               |
      | other.example,example.com |

  @CLISSO-CALLBACK-05 @CLISSO-IDENTITY-03
  Scenario: An email written in capitals is lower-cased before its domain is checked
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | example.com |
    And the IdP has a user "uma" with the email "Uma.Upton@EXAMPLE.COM"
    When "uma" logs in through the browser
    Then the login answer is for user "uma"

  @CLISSO-CALLBACK-03
  Scenario: A user from a domain the gateway does not allow is refused
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | example.com |
    And a CLI started a login session
    When "carol" signs in at the IdP for that session with her password
    Then the gateway answered the IdP's callback with 401
    And polling with the poll secret does not hand out a key

  @CLISSO-CALLBACK-03
  Scenario Outline: A domain that is not exactly an allowed one is refused (<email>)
    Given the gateway is configured with:
      | ALLOWED_EMAIL_DOMAINS | example.com |
    And the IdP has a user "oscar" with the email "<email>"
    And a CLI started a login session
    When "oscar" signs in at the IdP for that session
    Then the gateway answered the IdP's callback with <refused with>
    And the browser is not shown the "Complete CLI Login" page
    And polling with the poll secret does not hand out a key

    Examples:
      # A domain with a trailing dot is no plain address either: a gateway may refuse it as
      # malformed (400) before it compares domains (401).
      | email                       | refused with |
      | oscar@evil-example.com      | 401          |
      | oscar@evilexample.com       | 401          |
      | oscar@example.com.evil.test | 401          |
      | oscar@mail.example.com      | 401          |
      | oscar@example.co            | 401          |
      | oscar@example.comm          | 401          |
      | oscar@example.com.          | 401 or 400   |

  # A user of its own: the gateway keeps the memberships this scenario gives, and other scenarios
  # share the gateway.
  @CLISSO-IDENTITY-10
  Scenario: A team of an earlier login stays the user's when the IdP no longer names it
    Given the IdP has a user "tess" with the claims:
      """
      {"sub": "tess", "preferred_username": "tess", "email": "tess@example.com", "teams": ["team-alpha"]}
      """
    And "tess" logs in through the browser
    And the IdP user "tess" also has the claims:
      """
      {"teams": ["team-beta"]}
      """
    And "tess" has signed in and confirmed the code for a CLI session
    When the session is polled with the poll secret
    Then the answer asks to choose between the teams "team-alpha, team-beta" and holds no key
