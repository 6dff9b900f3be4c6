@sqs_outage @ci
Feature: An unavailable queue is answered with 503, and nothing is acknowledged that was not enqueued
  The API answers 202 only after SQS acknowledged the message. When the backend stops
  answering, or SQS alone refuses messages, clients get 503 with Retry-After, and a
  retry with the same key later is accepted and applied once.

  Background:
    Given the reference system is running

  Scenario: The backend stops answering for a while
    When the backend stops answering while 5 orders arrive at once
    Then every order sent during the outage is answered 503 with Retry-After within 6 s
    When the refused orders are retried with their Idempotency-Keys
    Then every retried order is accepted
    And no order is lost or applied twice

  Scenario: SQS refuses new messages while DynamoDB still answers
    When SQS refuses new messages while 5 orders arrive at once
    Then every order sent during the outage is answered 503 with Retry-After within 6 s
    When the refused orders are retried with their Idempotency-Keys
    Then every retried order is accepted
    And no order is lost or applied twice
