Feature: Poison payloads are quarantined without hurting healthy orders
  Orders that the API accepts but the worker's business rules refuse must reach the
  dead-letter queue, and every healthy order must still be applied exactly once.

  Background:
    Given the reference system is running

  @ci
  Scenario: A few poison payloads among healthy orders
    When 5 poison payloads arrive among 40 orders
    Then every poison payload is dead-lettered within the poison-quarantine objective
    And no order is lost or applied twice
