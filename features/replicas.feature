Feature: Several gateway replicas behave as one
  With a shared Redis, a login may start on one replica, come back from the IdP on another and be
  polled anywhere. When the shared store is down the answer is 503, never 500.

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
