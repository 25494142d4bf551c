Feature: The CLI session registry (v4)
  A gateway that keeps a CLI session registry records each classic login's session (never its key),
  lists the live sessions to admins, and lets a proxy admin revoke one; the revoked key is refused at
  once on the gateway that revoked it and within seconds on every replica sharing its database. The
  harness finds the login's session as the one that appeared in the list since just before the
  login, so it judges any gateway by its answers alone. A gateway whose GET /cli/session/list answers
  404 to its master key keeps no registry (the classic v3 contract): these scenarios are skipped,
  with that reason.

  @CLISSO-REGISTRY-01 @CLISSO-REGISTRY-02
  Scenario: A classic login's session is listed with its user and team, never its key
    Given the gateway keeps a CLI session registry
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    When the master key finds the login's session in the list
    Then the login's session is listed for user "cli-test-user" and the login's team
    And nothing in the session list holds the key or a piece of it

  @CLISSO-REGISTRY-02
  Scenario: A key without the admin view may not list the sessions
    Given the gateway keeps a CLI session registry
    And "cli-test-user" logged in through the browser and holds the key
    When the key lists the CLI sessions
    Then the gateway answers 403 with a message
    When the CLI sessions are listed without a key
    Then the session list answers 401

  @CLISSO-REGISTRY-03
  Scenario: Only a proxy admin may revoke a session
    Given the gateway keeps a CLI session registry
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    When the key revokes the login's session
    Then the gateway answers 403 with a message
    And the key still opens "/v1/models"

  @CLISSO-REGISTRY-02 @CLISSO-REGISTRY-03
  Scenario: An admin viewer may list the sessions, and may not revoke one
    Given the gateway keeps a CLI session registry
    And the IdP has a user "vic" with the claims:
      """
      {"sub": "vic", "preferred_username": "vic", "email": "vic@example.com", "role": "proxy_admin_viewer"}
      """
    And the master key notes the CLI sessions listed
    And "vic" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    When the key lists the CLI sessions
    Then the session list answers 200
    When the key revokes the login's session
    Then the gateway answers 403 with a message
    And the key still opens "/v1/models"

  @CLISSO-REGISTRY-02
  Scenario Outline: The session list takes a page of at least 1 and a page size of 1 to 100 (<query>)
    Given the gateway keeps a CLI session registry
    When the master key lists the CLI sessions with "<query>"
    Then the session list answers <answer>

    Examples:
      | query                  | answer  |
      | page=1&page_size=1     | 200     |
      | page=1&page_size=100   | 200     |
      | page=1&page_size=101   | a 4xx   |
      | page=1&page_size=0     | a 4xx   |
      | page=0&page_size=50    | a 4xx   |

  @CLISSO-REGISTRY-07
  Scenario: A session revoked with a proxy admin's key names that admin as revoked_by
    Given the gateway keeps a CLI session registry
    And the IdP has a user "ada" with the claims:
      """
      {"sub": "ada", "preferred_username": "ada", "email": "ada@example.com", "role": "proxy_admin"}
      """
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    And "ada" logged in through the browser and holds the key
    When the key revokes the login's session
    Then the revocation answers 200 with the session, revoked by "ada"

  @CLISSO-REGISTRY-02
  Scenario: Sessions are listed newest first, a page at a time, each page with the whole list's count
    Given the gateway keeps a CLI session registry
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    And the harness keeps the login's session as the earlier one
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    When the master key finds the login's session in the list
    Then the login's session is listed before the earlier one, and each page of 2 is its part of the list with the list's total_count

  @CLISSO-REGISTRY-02
  Scenario: A session whose key has expired is no longer listed
    Given CLI keys are configured with LITELLM_CLI_JWT_EXPIRATION_HOURS "1"
    And the gateway keeps a CLI session registry
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    When the gateway's clock moves to 1 second past 1 hours after the login
    Then the login's session is no longer listed

  @CLISSO-REGISTRY-04
  Scenario: Revoking a session the gateway does not know is 404, naming it
    Given the gateway keeps a CLI session registry
    When the master key revokes the CLI session "no-such-cli-session"
    Then the gateway answers 404 with the detail "CLI session not found: no-such-cli-session"

  @CLISSO-REGISTRY-05 @CLISSO-REGISTRY-07
  Scenario: A revoked key is refused at once by the gateway that revoked it; revoking again keeps revoked_at
    Given the gateway keeps a CLI session registry
    And the master key notes the CLI sessions listed
    And "cli-test-user" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    And the key still opens "/v1/models"
    When the master key revokes the login's session
    Then the key is refused with 401 at "/v1/models"
    And the key is refused with 401 at "/models"
    When the master key revokes the login's session again
    Then the session keeps the revoked_at of the first revocation

  @CLISSO-REGISTRY-06
  Scenario: A key revoked on one replica is refused on the other within 5 seconds
    Given two gateway replicas that share a Redis and a PostgreSQL user database
    And the gateway keeps a CLI session registry on replica 1
    And the master key notes the CLI sessions listed on replica 1
    When a CLI starts a login session on replica 1
    And "cli-test-user" signs in through replica 1 and the code is confirmed on replica 1
    Then polling replica 1 with the poll secret hands out the key
    And the key lists the models "gpt-4o-mini" on replica 2
    When the master key finds the login's session in the list on replica 2
    And the master key revokes the login's session on replica 1
    Then the key is refused with 401 at "/v1/models" on replica 1
    And the key is refused with 401 at "/v1/models" on replica 2 within 5 seconds

  @CLISSO-REGISTRY-01
  Scenario: The session of a login for a team the person chose is listed with that team
    Given the gateway keeps a CLI session registry
    And the IdP has a user "tess" with the claims:
      """
      {"sub": "tess", "preferred_username": "tess", "email": "tess@example.com", "teams": ["team-alpha", "team-beta"]}
      """
    And the master key notes the CLI sessions listed
    And "tess" logged in through the browser for the team "team-beta" and holds the key
    When the master key finds the login's session in the list
    Then the login's session is listed for user "tess" and the login's team

  @CLISSO-REGISTRY-02 @CLISSO-REGISTRY-03
  Scenario: A key whose role is internal_user may neither list the sessions nor revoke one
    Given the gateway keeps a CLI session registry
    And the IdP has a user "ines" with the claims:
      """
      {"sub": "ines", "preferred_username": "ines", "email": "ines@example.com", "role": "internal_user"}
      """
    And the master key notes the CLI sessions listed
    And "ines" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    When the key lists the CLI sessions
    Then the gateway answers 403 with a message
    When the key revokes the login's session
    Then the gateway answers 403 with a message
    And the key still opens "/v1/models"

  # A proxy admin's key has the admin view until its own session is revoked; from then on every route
  # that takes a CLI key refuses it, the registry's own and /user/info included.
  @CLISSO-REGISTRY-02 @CLISSO-REGISTRY-05
  Scenario: A proxy admin's key lists the sessions until its session is revoked, and then no route takes it
    Given the gateway keeps a CLI session registry
    And the IdP has a user "abe" with the claims:
      """
      {"sub": "abe", "preferred_username": "abe", "email": "abe@example.com", "role": "proxy_admin"}
      """
    And the master key notes the CLI sessions listed
    And "abe" logged in through the browser and holds the key
    And the master key finds the login's session in the list
    When the key lists the CLI sessions
    Then the session list answers 200
    When the master key revokes the login's session
    Then the key is refused with 401 at "/cli/session/list"
    And the key is refused with 401 at "/user/info?user_id=abe"
    When the key revokes the login's session
    Then the revocation answers 401
