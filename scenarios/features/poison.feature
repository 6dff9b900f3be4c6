@poison
Feature: Poison payloads are quarantined without hurting healthy orders
  Orders the API accepts but the worker's business rules refuse are poison: they must
  reach the dead-letter queue within the poison-quarantine objective, and no healthy
  order may be dead-lettered or lost on the way.

  Background:
    Given the reference system is running

  Rule: the worker quarantines what it cannot process, at once

  Scenario Outline: <poison> poison payloads among <orders> orders
    When <poison> poison payloads arrive among <orders> orders
    Then every poison payload is dead-lettered within the poison-quarantine objective
    And no healthy order is dead-lettered
    And no order is lost or applied twice

    @ci
    Examples: a few
      | poison | orders |
      | 5      | 40     |

    @gameday
    Examples: a batch
      | poison | orders |
      | 25     | 200    |

  @ci
  Scenario: A message that is not an order envelope
    When a message that is not an order envelope is sent straight to the queue
    Then it is dead-lettered within the poison-quarantine objective
    And no worker was restarted

  Rule: a message that kills its consumer does not circle forever

  @ci
  Scenario: A message that kills its consumer is dead-lettered by the queue
    Given the workers are paused
    When a consumer receives a message 3 times and dies on it each time
    Then the queue has moved it to the dead-letter queue
