@guardrail @gameday
Feature: A guardrail aborts an experiment and its rollbacks run
  A guardrail watches an SLO live; a breach that outlasts its grace period aborts the
  experiment (exit 2), and the rollbacks still clear every fault.

  Background:
    Given the reference system is running

  Scenario: A slowed API breaches the ingest-latency guardrail
    When an experiment slows the API by 400 ms under the ingest-latency guardrail
    Then the run is aborted with exit code 2 within 90 seconds
    And its rollbacks ran
    And no fault is left switched on
