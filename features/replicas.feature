Feature: Several gateway replicas behave as one
  With a shared Redis, a login may start on one replica, come back from the IdP on another and be
  polled anywhere. When the shared store is down the answer is 503, never 500. A Redis that puts every
  write on disk before acknowledging it keeps the logins in flight through a crash, and a poll whose
  answer a store failure swallowed loses no key to anyone (docs/stores.md).

  @CLISSO-STORE-01 @CLISSO-POLL-07
  Scenario: A login hops between two replicas that share Redis
    Given two gateway replicas that share a Redis
    When a CLI starts a login session on replica 1
    And "cli-test-user" signs in through replica 2 and the code is confirmed on replica 1
    Then polling replica 2 with the poll secret hands out the key
    And polling replica 1 again is refused with 400
    And the key lists the models "gpt-4o-mini" on replica 1

  @CLISSO-STORE-02
  Scenario: With Redis down, login endpoints answer 503
    Given two gateway replicas that share a Redis
    When the Redis stops
    And a CLI starts a login session on replica 1
    Then the gateway answers 503 with a message

  # The start limit holds whatever keeps the count; all the starts go to one replica, since the
  # contract does not say whether replicas share it.
  @CLISSO-START-04
  Scenario: A gateway that counts login starts in its shared Redis refuses the 31st of a minute
    Given two gateway replicas that share a Redis
    When a CLI starts 30 login sessions within a minute on replica 1
    And it starts one more on replica 1
    Then the gateway answers 429 with a message
    And that answer holds no login session

  @CLISSO-STORE-03
  Scenario: Replicas that share their stores keep one user row, merged across logins on either replica
    Given the IdP has a user "dora" with the claims:
      """
      {"sub": "dora", "preferred_username": "dora", "email": "dora@example.com", "email_verified": true, "employment_type": "full_time", "org_info": {"department": "Research", "cost_center": "CC-7"}}
      """
    And the gateway captures the IdP claims "employment_type,org_info.department,org_info.cost_center,site"
    And the gateway maps claims with "employment_type->kind, org_info.department->org.department, org_info.cost_center->org.cost_center, site->site"
    And two gateway replicas that share a Redis and a PostgreSQL user database
    When a CLI starts a login session on replica 1
    And "dora" signs in through replica 1 and the code is confirmed on replica 1
    Then polling replica 1 with the poll secret hands out the key
    And replica 2 shows user "dora" with the email "dora@example.com"
    When the IdP's claims for "dora" change to:
      """
      {"sub": "dora", "preferred_username": "dora", "email": "dora@example.org", "email_verified": true, "org_info": {"department": "Platform"}, "site": "Berlin"}
      """
    And the person opens a new browser session
    And a CLI starts a login session on replica 2
    And "dora" signs in through replica 2 and the code is confirmed on replica 2
    Then polling replica 2 with the poll secret hands out the key
    And replica 1 stored this metadata on user "dora":
      """
      {"kind": "full_time", "org": {"department": "Platform", "cost_center": "CC-7"}, "site": "Berlin"}
      """
    And replica 1 shows user "dora" with the email "dora@example.org"

  @CLISSO-STORE-04
  Scenario: With the user database down a sign-in is refused with 503, and logins work again once it is back
    Given two gateway replicas that share a Redis and a PostgreSQL user database
    When the user database stops
    And a CLI starts a login session on replica 1
    And "cli-test-user" signs in through replica 1
    Then the gateway's answer to the sign-in was 503 or its completion page, never another error
    When the user database is back
    And the person opens a new browser session
    And a CLI starts a login session on replica 2
    And "cli-test-user" signs in through replica 2 and the code is confirmed on replica 2
    Then polling replica 2 with the poll secret hands out the key

  @CLISSO-STORE-07
  Scenario: Logins in flight survive a Redis crash when Redis writes every change to disk first; the replicas reconnect by themselves
    Given two gateway replicas that share a Redis run with appendonly yes and appendfsync always
    When a CLI starts a login session on replica 1
    And "cli-test-user" signs in through replica 2 and the code is confirmed on replica 1
    And the harness sets this login aside as "ready, not yet collected"
    And the person opens a new browser session
    And a CLI starts a login session on replica 2
    And the Redis is killed and started again on its own data
    Then each replica answers the poll of this login with "pending" again within 10 s, without a restart
    When "cli-test-user" signs in through replica 1 and the code is confirmed on replica 2
    Then polling replica 1 with the poll secret hands out the key
    And the key lists the models "gpt-4o-mini" on replica 2
    When the harness takes up the login "ready, not yet collected" again
    Then polling replica 2 with the poll secret hands out the key
    And the key lists the models "gpt-4o-mini" on replica 1

  @CLISSO-STORE-05
  Scenario: A poll whose answer was lost to a store failure: the same CLI polling again gets the key
    Given two gateway replicas that share a Redis through a relay the harness controls
    When the store fails right after each write in turn of the poll that would hand out the key, one login for each
    Then each poll cut off that way got 503 or no answer, unless its key had gone out already
    And the same CLI, polling again at its pace once the store was back, got the key each time
    And every key handed out lists the models "gpt-4o-mini" on replica 2

  @CLISSO-STORE-06
  Scenario: A key whose answer was lost to a store failure goes to no one without the poll secret
    Given two gateway replicas that share a Redis through a relay the harness controls
    When the store fails right after each write in turn of the poll that would hand out the key, one login for each
    Then no poll with another poll secret got a key

  # The PKCE-native login (v4) keeps its single-use marks in the shared store: a code or a refresh
  # token used on one replica is spent on every replica. The replicas share their users too, so the
  # first use, on the replica that did not issue the grant, shows that it honours the grant at all.
  @CLISSO-NATIVE-10
  Scenario: A PKCE code redeemed on one replica is refused on the other
    Given two gateway replicas that share a Redis and a PostgreSQL user database
    And a native CLI got a code for "carol" through replica 1
    When the CLI redeems the code with its verifier on replica 2
    Then the token endpoint answers 200 with tokens
    When the CLI redeems the code with its verifier on replica 1
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-14
  Scenario: A refresh token replaced on one replica is refused on the other
    Given two gateway replicas that share a Redis and a PostgreSQL user database
    And a native CLI signed in as "carol" through replica 1
    When the CLI refreshes its tokens on replica 2
    Then the token endpoint answers 200 with tokens
    When the CLI refreshes with the refresh token it replaced on replica 1
    Then the token endpoint answers 400 invalid_grant
