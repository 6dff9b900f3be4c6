@downstream_outage @ci
Feature: A failing downstream opens the circuit, and retries back off
  When the downstream fails every call, consecutive failures must open the circuit so
  the workers stop receiving instead of burning every message's receives. When it
  fails some calls, each retry must wait (backoff with jitter) instead of hammering it,
  and nothing may be lost.

  Background:
    Given the reference system is running

  Scenario: The downstream fails every call
    Given the random_fail_p30 fault is switched on failing 100% of calls
    When 5 orders arrive while the downstream fails
    Then the downstream circuit opens within 5 seconds
    And the workers stop receiving for 2 seconds while it is open
    When the fault is cleared
    Then no healthy order is dead-lettered
    And no order is lost or applied twice

  Scenario: The downstream fails half the calls
    Given the random_fail_p30 fault is switched on failing 50% of calls
    When 20 orders arrive while the downstream fails
    And the fault is cleared
    And the queue drains within 60 seconds
    And the dead letters of exhausted retries are redriven
    Then no failed downstream call was retried within 50 ms
    And no order is lost or applied twice
