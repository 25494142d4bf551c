Feature: The PKCE-native login (v4)
  A native CLI registers a loopback redirect, sends the person's browser to the gateway's authorize
  endpoint with an S256 code challenge, catches the code on its own loopback listener and exchanges
  it, with its code verifier, for an access token and a refresh token. The harness plays that CLI
  itself; the person signs in and consents in the real browser. A gateway that does not advertise
  the login (its /.well-known/litellm-cli-auth answers 404: the classic v3 contract) has these
  scenarios skipped, with that reason.

  Background:
    Given the gateway advertises the PKCE-native login

  # ---- Discovery ----

  @CLISSO-NATIVE-01
  Scenario: The discovery document has exactly twelve fields, on the gateway's own base URL
    When a native CLI reads the gateway's discovery document
    Then the discovery document is exactly, where {base} is the gateway's base URL:
      | contract_version                           | 1                                     |
      | issuer                                     | "{base}"                              |
      | authorization_endpoint                     | "{base}/authorize"                    |
      | token_endpoint                             | "{base}/token"                        |
      | registration_endpoint                      | "{base}/register"                     |
      | revocation_endpoint                        | "{base}/revoke"                       |
      | resource                                   | "{base}"                              |
      | response_types_supported                   | ["code"]                              |
      | grant_types_supported                      | ["authorization_code","refresh_token"] |
      | code_challenge_methods_supported           | ["S256"]                              |
      | token_endpoint_auth_methods_supported      | ["none"]                              |
      | revocation_endpoint_auth_methods_supported | ["none"]                              |

  @CLISSO-NATIVE-01 @CLISSO-NATIVE-06
  Scenario: Under a path prefix, the discovery document names the prefixed base, and a native CLI logs in through it
    Given a gateway served under the path "/litellm" by a reverse proxy, its public base URL naming that path
    When a native CLI reads the gateway's discovery document
    Then the discovery document is exactly, where {base} is the gateway's base URL:
      | contract_version                           | 1                                     |
      | issuer                                     | "{base}"                              |
      | authorization_endpoint                     | "{base}/authorize"                    |
      | token_endpoint                             | "{base}/token"                        |
      | registration_endpoint                      | "{base}/register"                     |
      | revocation_endpoint                        | "{base}/revoke"                       |
      | resource                                   | "{base}"                              |
      | response_types_supported                   | ["code"]                              |
      | grant_types_supported                      | ["authorization_code","refresh_token"] |
      | code_challenge_methods_supported           | ["S256"]                              |
      | token_endpoint_auth_methods_supported      | ["none"]                              |
      | revocation_endpoint_auth_methods_supported | ["none"]                              |
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    Then the consent page names the CLI's loopback origin and "alice"
    When the person approves
    Then the CLI's loopback listener receives a code and the state it sent
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens for "alice" and the team "team-alpha", not to be cached
    And the access token lists the models on /v1/models
    And the gateway was reached only through its path prefix, for every request of the login

  # ---- Registration ----

  @CLISSO-NATIVE-02 @CLISSO-NATIVE-03
  Scenario Outline: A client registers 1 to 3 redirect URIs (<count>)
    When a native CLI registers <count> loopback redirect URIs
    Then the registration answers <answer>

    Examples:
      | count | answer                         |
      | 0     | 400 invalid_redirect_uri       |
      | 1     | 201 with a public client       |
      | 3     | 201 with a public client       |
      | 4     | 400 invalid_redirect_uri       |

  @CLISSO-NATIVE-02 @CLISSO-NATIVE-03
  Scenario Outline: A redirect URI has at most 256 characters (<length>)
    When a native CLI registers the redirect URI "https://cli.example/callback" lengthened to <length> characters
    Then the registration answers <answer>

    Examples:
      | length | answer                   |
      | 255    | 201 with a public client |
      | 256    | 201 with a public client |
      | 257    | 400 invalid_redirect_uri |

  @CLISSO-NATIVE-02 @CLISSO-NATIVE-03
  Scenario Outline: A redirect URI is https, or http on a loopback address, without fragment or userinfo (<uri>)
    When a native CLI registers the redirect URI "<uri>"
    Then the registration answers <answer>

    Examples:
      | uri                                   | answer                   |
      | http://127.0.0.1:8400/callback        | 201 with a public client |
      | http://[::1]:8400/callback            | 201 with a public client |
      | http://localhost:8400/callback        | 201 with a public client |
      | https://cli.example/callback          | 201 with a public client |
      | http://cli.example/callback           | 400 invalid_redirect_uri |
      | http://127.0.0.2.example/callback     | 400 invalid_redirect_uri |
      | http://127.0.0.1:8400/callback#frag   | 400 invalid_redirect_uri |
      | https://user@cli.example/callback     | 400 invalid_redirect_uri |
      | http://user:pw@127.0.0.1:8400/cb      | 400 invalid_redirect_uri |
      | https://cli.example\\callback         | 400 invalid_redirect_uri |

  # ---- Authorize: the errors are answered, never redirected ----

  @CLISSO-NATIVE-04
  Scenario Outline: An authorize request with <parameter> "<value>" is answered 400 <error>, without a redirect
    Given a native CLI registered its loopback redirect and "https://cli.example/callback"
    When it sends an authorize request with <parameter> set to "<value>"
    Then the authorize endpoint answers 400 <error>
    And that answer neither redirects nor sets a cookie

    Examples:
      | parameter             | value                             | error                     |
      | client_id             | (altered)                         | invalid_client            |
      | client_id             | dummy_client                      | invalid_client            |
      | redirect_uri          | http://127.0.0.1:9/not-registered | invalid_request           |
      | redirect_uri          | (with one character more)         | invalid_request           |
      | redirect_uri          | (without its last character)      | invalid_request           |
      | response_type         | token                             | unsupported_response_type |
      | response_type         | (absent)                          | unsupported_response_type |
      | code_challenge        | (absent)                          | invalid_request           |
      | code_challenge        | (with one character more)         | invalid_request           |
      | code_challenge        | (without its last character)      | invalid_request           |
      | code_challenge_method | plain                             | invalid_request           |
      | code_challenge_method | (absent)                          | invalid_request           |
      | state                 | (1025 characters)                 | invalid_request           |
      | resource              | https://elsewhere.example         | invalid_target            |
      | resource              | (with "/elsewhere" appended)      | invalid_target            |

  # A host that only begins like a loopback name is another machine.
  @CLISSO-NATIVE-05
  Scenario Outline: A grant for the gateway's API is never sent to a redirect off the person's machine (<uri>)
    Given a native CLI registered its loopback redirect and "<uri>"
    When it sends an authorize request with redirect_uri set to "<uri>"
    Then the authorize endpoint answers 400 invalid_request
    And that answer neither redirects nor sets a cookie

    Examples:
      | uri                                     |
      | https://cli.example/callback            |
      | https://127.0.0.1.cli.example/callback  |
      | https://localhost.cli.example/callback  |

  @CLISSO-NATIVE-04
  Scenario Outline: An authorize request at the limit (<parameter> "<value>") sends a browser without a session to sign in
    Given a native CLI registered its loopback redirect and "https://cli.example/callback"
    When it sends an authorize request with <parameter> set to "<value>"
    Then the gateway sends the browser on to sign in

    Examples:
      | parameter | value             |
      | state     | (1024 characters) |
      | state     | (absent)          |
      | resource  | (absent)          |

  @CLISSO-NATIVE-17
  Scenario Outline: The sign-in never sends the browser off the gateway for its return_to (<case>)
    When a browser without a session opens the sign-in with return_to "<return_to>", and "alice" signs in if asked
    Then the browser was never sent off the gateway

    Examples:
      | case                       | return_to                       |
      | another site               | https://evil.example/           |
      | a scheme-relative address  | //evil.example/                 |
      | a backslash after the /    | /\\evil.example/                |
      | user info before a host    | @evil.example/                  |
      | a path, then another site  | /authorize?x=1@evil.example/    |

  # ---- The walk in the browser ----

  @CLISSO-NATIVE-06 @CLISSO-NATIVE-07 @CLISSO-NATIVE-09
  Scenario: A person with one team signs in and approves; the code buys a token the API accepts
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    Then the consent page names the CLI's loopback origin and "alice"
    And the consent page attributes the credential to the team "team-alpha" without a choice
    When the person approves
    Then the CLI's loopback listener receives a code and the state it sent
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens for "alice" and the team "team-alpha", not to be cached
    And the access token lists the models on /v1/models

  @CLISSO-NATIVE-07
  Scenario: A person with several teams picks the team of the credential
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "bob" signs in at the IdP's page
    Then the consent page offers the teams "team-alpha, team-beta" to choose from
    When the person picks the team "team-beta" and approves
    Then the CLI's loopback listener receives a code and the state it sent
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens for "bob" and the team "team-beta", not to be cached

  @CLISSO-NATIVE-07 @CLISSO-NATIVE-08
  Scenario: A person without a team is asked for none; one who denies sends the CLI access_denied with its state, and no code
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "carol" signs in at the IdP's page
    Then the consent page asks for no team
    When the person denies
    Then the CLI's loopback listener receives the error "access_denied", the state it sent, and no code

  # Denying needs no team: a gateway that asks for the team choice first refuses a denial.
  @CLISSO-NATIVE-08
  Scenario: A person with several teams denies without choosing one, and the CLI gets access_denied
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "bob" signs in at the IdP's page
    And the person denies
    Then the CLI's loopback listener receives the error "access_denied", the state it sent, and no code

  # ---- The consent answer: a code only for the person's own browser session ----
  # Any 4xx is a refusal: the reference answers 401 login_required, 403 access_denied and 400
  # invalid_request (docs/contract.md section 10.6); LiteLLM keeps the flow in a cookie of the browser
  # that opened the consent page, and may answer 400 where that cookie is missing.

  @CLISSO-NATIVE-19
  Scenario: A consent form posted without the browser's gateway session is refused, and no code is issued
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    And the harness notes the consent form shown to "alice"
    And the noted consent form is posted, approving, without the browser's cookies
    Then the consent post is refused with a 4xx, without a redirect
    And the CLI's loopback listener received no code

  # A forged form: "alice"'s consent form, posted from the browser of "bob", who is signed in on the
  # gateway too, as a page someone else wrote would post it.
  @CLISSO-NATIVE-19
  Scenario: A consent form shown to another person, posted from a signed-in browser, is refused, and no code is issued
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    And the harness notes the consent form shown to "alice"
    And the person opens a new browser session
    And it sends the browser to the gateway's authorize endpoint
    And "bob" signs in at the IdP's page
    And "bob"'s browser posts the noted consent form, approving
    Then the consent post is refused with a 4xx, without a redirect
    And the CLI's loopback listener received no code

  @CLISSO-NATIVE-19
  Scenario: A consent form whose flow handle the gateway never sealed is refused, and no code is issued
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    And the harness notes the consent form shown to "alice", with its flow handle altered
    And the browser posts the noted consent form, approving
    Then the consent post is refused with a 4xx, without a redirect
    And the CLI's loopback listener received no code

  # The browser's back button, or a page replaying the form: a consent is answered once.
  @CLISSO-NATIVE-19
  Scenario: A consent form answered once is refused when posted again, and no second code is issued
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "carol" signs in at the IdP's page
    And the harness notes the consent form shown to "carol"
    And the person approves
    Then the CLI's loopback listener receives a code and the state it sent
    When it sends the browser to the gateway's authorize endpoint
    And the browser posts the noted consent form, approving
    Then the consent post is refused with a 4xx, without a redirect
    And the CLI's loopback listener received exactly one code
    # The other side of the edge: a consent form of its own, answered once, is not spent by the first.
    When it sends the browser to the gateway's authorize endpoint
    And the person approves
    Then the CLI's loopback listener receives a code and the state it sent

  # A person who is not in a team cannot have the credential attributed to it by editing the form.
  @CLISSO-NATIVE-07
  Scenario Outline: A consent form naming a team the person was not offered is refused, and no code is issued (<person>)
    Given a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "<person>" signs in at the IdP's page
    And the harness notes the consent form shown to "<person>", naming the team "team-gamma"
    And the browser posts the noted consent form, approving
    Then the consent post is refused with a 4xx, without a redirect
    And the CLI's loopback listener received no code

    Examples:
      | person |
      | alice  |
      | bob    |

  # ---- The code ----

  @CLISSO-NATIVE-10
  Scenario: A code buys tokens once
    Given a native CLI got a code for "carol"
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 400 invalid_grant

  # The 120 s edge, by the gateway's own clock. The harness knows when the code was issued only as
  # lying between the click on Approve and the redirect reaching its loopback listener, and a gateway
  # may count in whole seconds: a code at most 118 seconds old is inside its lifetime however the
  # gateway rounds; one at least 121 seconds old is past it.
  @CLISSO-NATIVE-18
  Scenario Outline: A code lives 120 seconds (<age>)
    Given a native CLI got a code for "carol"
    When the code is <age> by the gateway's clock
    And the CLI redeems the code with its verifier
    Then the token endpoint answers <answer>

    Examples:
      | age                      | answer            |
      | at most 118 seconds old  | 200 with tokens   |
      | at least 121 seconds old | 400 invalid_grant |

  @CLISSO-NATIVE-11
  Scenario: A code redeemed with another verifier is refused
    Given a native CLI got a code for "carol"
    When the CLI redeems the code with another verifier of 43 characters
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-11
  Scenario Outline: The code verifier has 43 to 128 characters (<length>)
    Given a native CLI with a code verifier of <length> characters got a code for "carol"
    When the CLI redeems the code with its verifier
    Then the token endpoint answers <answer>

    Examples:
      | length | answer          |
      | 42     | 400 invalid_request |
      | 43     | 200 with tokens |
      | 128    | 200 with tokens |
      | 129    | 400 invalid_request |

  @CLISSO-NATIVE-12
  Scenario: Another client cannot redeem a code
    Given a native CLI got a code for "carol"
    And another native CLI registered the same loopback redirect
    When the other CLI redeems the code with the verifier
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-12
  Scenario: A code is redeemed only with the redirect URI it was sent to
    Given a native CLI that registered a second loopback redirect got a code for "carol" on the first
    When the CLI redeems the code with its verifier and its second redirect URI
    Then the token endpoint answers 400 invalid_grant

  # Mix-up: a CLI that talks to two gateways is led to send one gateway's code to the other.
  @CLISSO-NATIVE-12
  Scenario Outline: A code is refused by another gateway (<how>)
    Given a native CLI got a code for "carol"
    When the CLI redeems the code at another gateway, with secrets of its own, <how>
    Then the token endpoint refuses it with a 4xx, and no tokens

    Examples:
      | how                           |
      | as it would at the first      |
      | as a client registered there  |

  @CLISSO-NATIVE-20
  Scenario: A code presented twice stops what its first redemption bought
    Given a native CLI got a code for "carol"
    And the CLI redeemed the code with its verifier
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 400 invalid_grant
    When the CLI refreshes its tokens
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-13
  Scenario: A code redeemed for another resource is refused and stays usable
    Given a native CLI got a code for "carol"
    When the CLI redeems the code with its verifier for the resource "https://elsewhere.example"
    Then the token endpoint answers 400 invalid_target
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens

  # What the IdP says is shown on the consent page in each place it can sit: the user id with a team
  # (a hidden field and its name), and two teams (a list to choose from). One person per case.
  @CLISSO-NATIVE-23
  Scenario Outline: The consent page shows what the IdP says about the user as text, never as markup (<where>)
    Given the IdP has a user "<user>" with HTML markup in <where>
    And a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "<user>" signs in at the IdP's page
    Then the consent page shows no markup from the IdP's claims

    Examples:
      | where                    | user          |
      | the user id and one team | eve-consent-1 |
      | two teams                | eve-consent-2 |

  @CLISSO-NATIVE-24
  Scenario: The consent page is not cached, cannot be framed by another site, and keeps its address
    Given the browser keeps the headers of the gateway's answers
    And a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "alice" signs in at the IdP's page
    Then the consent page's answer is not to be cached and forbids framing and referrers

  # ---- Refresh and revocation ----

  @CLISSO-NATIVE-14
  Scenario: A refresh token is replaced at every use, and the one replaced is refused
    Given a native CLI signed in as "alice"
    When the CLI refreshes its tokens
    Then the token endpoint answers 200 with tokens for "alice" and the team "team-alpha", not to be cached
    And the new refresh token is not the one it replaced
    And the access token lists the models on /v1/models
    When the CLI refreshes its tokens
    Then the token endpoint answers 200 with tokens for "alice" and the team "team-alpha", not to be cached
    And the new refresh token is not the one it replaced
    When the CLI refreshes with the refresh token it replaced
    Then the token endpoint answers 400 invalid_grant

  # The tokens a refresh buys are for the team the person chose at the consent, however many teams
  # the person has (RFC 6749 section 6: a refresh grants no other access than the grant it renews).
  @CLISSO-NATIVE-09 @CLISSO-NATIVE-14
  Scenario: A refresh buys tokens for the team the person chose, not another of theirs
    Given the IdP has a user "nia" with the claims:
      """
      {"sub": "nia", "preferred_username": "nia", "email": "nia@example.com", "teams": ["team-alpha", "team-beta"]}
      """
    And a native CLI registered its loopback redirect
    When it sends the browser to the gateway's authorize endpoint
    And "nia" signs in at the IdP's page
    And the person picks the team "team-beta" and approves
    Then the CLI's loopback listener receives a code and the state it sent
    When the CLI redeems the code with its verifier
    Then the token endpoint answers 200 with tokens for "nia" and the team "team-beta", not to be cached
    When the CLI refreshes its tokens
    Then the token endpoint answers 200 with tokens for "nia" and the team "team-beta", not to be cached

  # 14 days = 1209600 s, counted as the code's 120 s are.
  @CLISSO-NATIVE-21
  Scenario Outline: A refresh token lives 14 days (<age>)
    Given a native CLI signed in as "carol"
    When the refresh token is <age> by the gateway's clock
    And the CLI refreshes its tokens
    Then the token endpoint answers <answer>

    Examples:
      | age                          | answer            |
      | at most 1209598 seconds old  | 200 with tokens   |
      | at least 1209601 seconds old | 400 invalid_grant |

  @CLISSO-NATIVE-12
  Scenario: Another client cannot use a refresh token
    Given a native CLI signed in as "carol"
    And another native CLI registered the same loopback redirect
    When the other CLI refreshes with the first CLI's refresh token
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-15
  Scenario: Replaying a replaced refresh token stops its successor too
    Given a native CLI signed in as "carol"
    And the CLI refreshed its tokens
    When the CLI refreshes with the refresh token it replaced
    Then the token endpoint answers 400 invalid_grant
    When the CLI refreshes its tokens
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-16
  Scenario: Revocation answers 200 {} whatever the token, and a revoked refresh token is refused
    Given a native CLI signed in as "carol"
    When the CLI revokes the token "not-a-token-this-gateway-issued"
    Then the revocation endpoint answers 200 {}
    When the CLI revokes its refresh token
    Then the revocation endpoint answers 200 {}
    When the CLI refreshes its tokens
    Then the token endpoint answers 400 invalid_grant

  @CLISSO-NATIVE-22
  Scenario: A revocation by an unknown client is 401 invalid_client and burns nothing
    Given a native CLI signed in as "carol"
    When the CLI revokes its refresh token with the client id "dummy_client"
    Then the revocation endpoint answers 401 invalid_client
    When the CLI refreshes its tokens
    Then the token endpoint answers 200 with tokens

  @CLISSO-NATIVE-22
  Scenario: Another client's revocation answers 200 {} and burns nothing
    Given a native CLI signed in as "carol"
    And another native CLI registered the same loopback redirect
    When the other CLI revokes the first CLI's refresh token
    Then the revocation endpoint answers 200 {}
    When the CLI refreshes its tokens
    Then the token endpoint answers 200 with tokens
