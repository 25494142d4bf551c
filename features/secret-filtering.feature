Feature: Secret-looking keys and values never reach the metadata
  Whatever the IdP sends and however the claim map is written, keys that look like secrets, keys of
  the wrong shape, non-scalar values, JWT-looking values and over-long strings are dropped, and
  everything else in the same map still comes through.

  Background:
    Given the IdP user "mallory" also has the claims:
      """
      {"one_dot": "eyJ.only-one-dot", "version": "1.2.3", "three_words": "abc.def.ghi", "inner_eyj": "not-eyJ.a.b",
       "empty_string": "", "jwt_min": "eyJ.a.b", "jwt_lower": "eyj.a.b", "jwt_spaced": " eyJ.a.b",
       "jwt_five_parts": "eyJ.a.b.c.d"}
      """
    And the gateway captures the IdP claims "employment_type,org_info.department,session_jwt,long_1024,long_1024_accented,long_1025,nothing,badge_list,org_info,email_verified,one_dot,version,three_words,inner_eyj,empty_string,jwt_min,jwt_lower,jwt_spaced,jwt_five_parts"
    And the gateway maps claims with "employment_type->api_key_team, employment_type->team_api_key, employment_type->xapi_keyx, employment_type->API_Key_2, employment_type->api_ke, employment_type->password_hint, employment_type->old_password, employment_type->xpasswordx, employment_type->PASSWORD, employment_type->passwor, employment_type->private_key_id, employment_type->my_private_key, employment_type->xprivate_keyx, employment_type->Private_KEY, employment_type->private_ke, employment_type->secret_plan, employment_type->top_secret, employment_type->xsecretx, employment_type->SeCrEt, employment_type->secre, employment_type->tokens_left, employment_type->csrf_token, employment_type->xtokenx, employment_type->TOKEN, employment_type->toke, employment_type->access_toke, employment_type->client_secre, employment_type->id_toke, employment_type->refresh_toke, empty_string->empty_string, jwt_min->jwt_min, jwt_lower->jwt_lower, jwt_spaced->jwt_spaced, jwt_five_parts->jwt_five_parts, employment_type->my_access_token, employment_type->API_KEY, employment_type->client_secret_x, employment_type->id_token, employment_type->Password, employment_type->private_key, employment_type->refresh_token, employment_type->secret, employment_type->token, employment_type->tokenizer, employment_type->has space, employment_type->a/b, employment_type->a:b, employment_type->ключ, employment_type->ok-key_1.v2, employment_type->apikey, employment_type->api-key, employment_type->pass_word, employment_type->private-key, employment_type->to-ken, nothing->nothing, badge_list->badges, org_info->org, email_verified->verified, session_jwt->session, long_1024->long_ok, long_1024_accented->long_accented_ok, long_1025->long_too_long, one_dot->one_dot, version->version, three_words->three_words, inner_eyj->inner_eyj, org_info.department->department"
    When "mallory" logs in through the browser

  # The word "token" alone is where the profiles disagree: litellm-v3 has it on the deny-list
  # (CLISSO-FILTER-01), litellm-v4 took it off (CLISSO-FILTER-08).
  @CLISSO-FILTER-01
  Scenario: Every blocked word in a destination key drops the pair, in any case and inside longer words
    Then the login answer's attribution metadata has none of the keys "my_access_token, API_KEY, client_secret_x, id_token, Password, private_key, refresh_token, secret, token, tokenizer"
    And the metadata stored on user "mallory" has none of the keys "token, tokenizer"
    And the login answer's attribution metadata has "department" = "Security"

  @CLISSO-FILTER-08
  Scenario: Every blocked word but "token" drops the pair, in any case and inside longer words; "token" alone does not
    Then the login answer's attribution metadata has none of the keys "my_access_token, API_KEY, client_secret_x, id_token, Password, private_key, refresh_token, secret"
    And the login answer's attribution metadata has "token" = "contractor"
    And the login answer's attribution metadata has "tokenizer" = "contractor"
    And the gateway stored this metadata on user "mallory":
      """
      {"token": "contractor", "tokenizer": "contractor"}
      """
    And the login answer's attribution metadata has "department" = "Security"

  @CLISSO-FILTER-02
  Scenario: Destination keys outside letters, digits, "_", "." and "-" are dropped
    Then the login answer's attribution metadata has none of the keys "has space, a/b, a:b, ключ"
    And the login answer's attribution metadata has "ok-key_1.v2" = "contractor"

  @CLISSO-FILTER-03
  Scenario: Null, list and object values are dropped; strings and booleans are kept
    Then the login answer's attribution metadata has none of the keys "nothing, badges, org"
    And the login answer's attribution metadata has "verified" = true

  @CLISSO-FILTER-04
  Scenario: JWT-looking values are dropped
    Then the login answer's attribution metadata has none of the keys "session"

  @CLISSO-FILTER-05
  Scenario: A 1024-character string is kept and a 1025-character one is dropped
    Then the login answer's attribution metadata has "long_ok" with a value of 1024 characters
    And the login answer's attribution metadata has none of the keys "long_too_long"

  @CLISSO-FILTER-06
  Scenario: A blocked word written another way does not drop the key: the test is a plain substring test
    Then the login answer's attribution metadata has all of the keys "apikey, api-key, pass_word, private-key, to-ken"

  @CLISSO-FILTER-07
  Scenario: Only strings that start with "eyJ" and have two or more dots count as JWT-looking
    Then the login answer's attribution metadata has "one_dot" = "eyJ.only-one-dot"
    And the login answer's attribution metadata has "version" = "1.2.3"
    And the login answer's attribution metadata has "three_words" = "abc.def.ghi"
    And the login answer's attribution metadata has "inner_eyj" = "not-eyJ.a.b"

  @CLISSO-FILTER-01 @CLISSO-FILTER-08 @CLISSO-FILTER-02 @CLISSO-FILTER-03 @CLISSO-FILTER-04 @CLISSO-FILTER-05
  Scenario: Nothing dropped from the answer is stored on the user either
    Then the metadata stored on user "mallory" has none of the keys "my_access_token, API_KEY, client_secret_x, id_token, Password, private_key, refresh_token, secret, has space, a/b, a:b, ключ, nothing, badges, org, session, long_too_long"
    And the gateway stored this metadata on user "mallory":
      """
      {"department": "Security", "ok-key_1": {"v2": "contractor"}, "verified": true, "apikey": "contractor"}
      """

  # Each blocked word at the start, at the end and in the middle of a key, and in other capitals, is
  # dropped; one letter short, it is an ordinary key. The words that hold "token" or "secret" are
  # dropped by those two already, so only their one-letter-short forms tell anything more. The word
  # "token" itself has a table per profile, below.
  @CLISSO-FILTER-01 @CLISSO-FILTER-08 @CLISSO-FILTER-06
  Scenario: A blocked word drops the key wherever it sits and however it is written; one letter short, it does not
    Then the login answer's attribution metadata keeps or drops each key:
      | blocked word  | where it sits    | key            | kept |
      | api_key       | at the start     | api_key_team   | no   |
      | api_key       | at the end       | team_api_key   | no   |
      | api_key       | in the middle    | xapi_keyx      | no   |
      | api_key       | other capitals   | API_Key_2      | no   |
      | api_key       | one letter short | api_ke         | yes  |
      | password      | at the start     | password_hint  | no   |
      | password      | at the end       | old_password   | no   |
      | password      | in the middle    | xpasswordx     | no   |
      | password      | other capitals   | PASSWORD       | no   |
      | password      | one letter short | passwor        | yes  |
      | private_key   | at the start     | private_key_id | no   |
      | private_key   | at the end       | my_private_key | no   |
      | private_key   | in the middle    | xprivate_keyx  | no   |
      | private_key   | other capitals   | Private_KEY    | no   |
      | private_key   | one letter short | private_ke     | yes  |
      | secret        | at the start     | secret_plan    | no   |
      | secret        | at the end       | top_secret     | no   |
      | secret        | in the middle    | xsecretx       | no   |
      | secret        | other capitals   | SeCrEt         | no   |
      | secret        | one letter short | secre          | yes  |
      | access_token  | one letter short | access_toke    | yes  |
      | client_secret | one letter short | client_secre   | yes  |
      | id_token      | one letter short | id_toke        | yes  |
      | refresh_token | one letter short | refresh_toke   | yes  |

  @CLISSO-FILTER-01
  Scenario: The word "token" drops the key wherever it sits and however it is written; one letter short, it does not
    Then the login answer's attribution metadata keeps or drops each key:
      | blocked word | where it sits    | key         | kept |
      | token        | at the start     | tokens_left | no   |
      | token        | at the end       | csrf_token  | no   |
      | token        | in the middle    | xtokenx     | no   |
      | token        | other capitals   | TOKEN       | no   |
      | token        | one letter short | toke        | yes  |

  @CLISSO-FILTER-08
  Scenario: The word "token" is an ordinary part of a key wherever it sits, unless another blocked word holds it
    Then the login answer's attribution metadata keeps or drops each key:
      | the word "token"     | key             | kept | kept as      |
      | at the start         | tokens_left     | yes  | "contractor" |
      | at the end           | csrf_token      | yes  | "contractor" |
      | in the middle        | xtokenx         | yes  | "contractor" |
      | in other capitals    | TOKEN           | yes  | "contractor" |
      | inside access_token  | my_access_token | no   |              |
      | inside id_token      | id_token        | no   |              |
      | inside refresh_token | refresh_token   | no   |              |

  @CLISSO-FILTER-03 @CLISSO-FILTER-04 @CLISSO-FILTER-05 @CLISSO-FILTER-07
  Scenario: Each rule on values, on both sides of its edge
    Then the login answer's attribution metadata keeps or drops each key:
      | the IdP's value                  | key              | kept | kept as    |
      | an empty string                  | empty_string     | yes  | ""         |
      | "eyJ" and two dots, nothing else | jwt_min          | no   |            |
      | "eyJ" and four dots (five parts) | jwt_five_parts   | no   |            |
      | "eyj" (small j) and two dots     | jwt_lower        | yes  | "eyj.a.b"  |
      | a space, then "eyJ" and two dots | jwt_spaced       | yes  | " eyJ.a.b" |
      | "eyJ" and one dot                | one_dot          | yes  |            |
      | 1024 characters                  | long_ok          | yes  |            |
      | 1024 "é" (2048 bytes in UTF-8)   | long_accented_ok | yes  |            |
      | 1025 characters                  | long_too_long    | no   |            |
