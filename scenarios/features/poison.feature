@poison
Feature: Poison payloads are quarantined without hurting healthy orders
  Orders the API accepts but the worker's business rules refuse are poison: they must
  reach the dead-letter queue within the poison-quarantine objective, and no healthy
  order may be dead-lettered or lost on the way.

  Background:
    Given the reference system is running

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
