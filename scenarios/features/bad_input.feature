@bad_input @ci
Feature: Hostile requests are refused with a JSON error and enqueue nothing
  Every request the API refuses is answered with a 4xx, never a 5xx, in the JSON error
  envelope {"error": {"code", "message", "correlationId"}}, and nothing reaches the queue.

  Background:
    Given the reference system is running

  Scenario Outline: <request> is refused
    When a client sends <request>
    Then it is answered <status> with the JSON error code "<code>"
    And nothing was enqueued

    Examples:
      | request                            | status | code                    |
      | malformed JSON                     | 400    | MALFORMED_JSON          |
      | a body that is not JSON            | 415    | UNSUPPORTED_MEDIA_TYPE  |
      | a boolean amount                   | 422    | VALIDATION_FAILED       |
      | a string amount                    | 422    | VALIDATION_FAILED       |
      | a negative amount                  | 422    | VALIDATION_FAILED       |
      | an unknown field                   | 422    | VALIDATION_FAILED       |
      | a missing order id                 | 422    | VALIDATION_FAILED       |
      | control characters in a note       | 422    | VALIDATION_FAILED       |
      | a script in the order id           | 422    | VALIDATION_FAILED       |
      | a body over 256 KiB                | 413    | PAYLOAD_TOO_LARGE       |
      | no API key                         | 401    | AUTH_REQUIRED           |
      | a wrong API key                    | 401    | INVALID_API_KEY         |
      | a 10,000-character correlation id  | 400    | INVALID_CORRELATION_ID  |
      | an Idempotency-Key with spaces     | 400    | INVALID_IDEMPOTENCY_KEY |
      | an unknown path                    | 404    | NOT_FOUND               |
      | a wrong method                     | 405    | METHOD_NOT_ALLOWED      |
