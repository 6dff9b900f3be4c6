@random_failures @gameday
Feature: Transient downstream failures are retried, and what retries cannot absorb is redriven
  A downstream that fails a share of calls is retried with backoff; messages that
  exhaust their receives reach the DLQ, and a redrive after recovery applies them.

  Background:
    Given the reference system is running

  Scenario Outline: The downstream fails <share>% of calls
    Given the random_fail_p30 fault is switched on failing <share>% of calls
    When 40 orders arrive while the downstream fails
    And the fault is cleared
    And the queue drains within 120 seconds
    And the dead letters of exhausted retries are redriven
    Then no order is lost or applied twice

    Examples:
      | share |
      | 30    |
