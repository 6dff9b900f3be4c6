@slow_downstream @gameday
Feature: A slow downstream opens the circuit, consumption pauses, and the backlog drains after
  Past the worker's timeout, downstream calls fail; the circuit must open so the workers
  stop burning receive counts, and once the downstream recovers the backlog must drain
  within the backlog-drain objective with nothing lost.

  Background:
    Given the reference system is running

  Scenario: The downstream slows past the worker timeout
    Given the slow_downstream fault is switched on with 8000 ms of latency
    When 20 orders arrive while the downstream is slow
    Then the downstream circuit opens within 60 seconds
    And the workers stop receiving for 3 seconds while it is open
    When the fault is cleared
    Then the backlog-drain objective holds
    And no healthy order is dead-lettered
    And no order is lost or applied twice
