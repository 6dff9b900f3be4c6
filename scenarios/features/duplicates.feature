@duplicates
Feature: Duplicate submits are applied once
  Clients retry. The producer's Idempotency-Key is what tells a retry from a new order:
  SQS message ids only dedupe redelivery.

  Background:
    Given the reference system is running

  Rule: a client's replay is answered from the idempotency record

    @ci
    Scenario: The same order submitted three times in a row
      When an order is submitted 3 times in a row with one Idempotency-Key
      Then every accepted answer carries the same event id
      And at least 2 answers are replays
      And no order is lost or applied twice

    @ci
    Scenario: The same order submitted three times at once
      When an order is submitted 3 times at once with one Idempotency-Key
      Then every other submit is answered as a replay or with 409 in flight
      And no order is lost or applied twice

  Rule: a key reused with another body is refused

    @ci
    Scenario: A key reused for a different amount
      When an order is submitted 1 times in a row with one Idempotency-Key
      And the Idempotency-Key is reused with another body
      Then the reuse is answered 422 with the error code "IDEMPOTENCY_KEY_REUSED"
      And no order is lost or applied twice

  Rule: a message published twice is applied once

    @ci
    Scenario: The API publishes a share of orders twice
      Given the duplicate_submit fault is switched on
      When 30 orders arrive
      Then some orders were published twice
      And no order is lost or applied twice
      And each order reached the downstream once
