@worker_crash @gameday
Feature: A worker killed mid-batch loses nothing
  A SIGKILL gives the worker no goodbye: the messages it held reappear after their
  visibility timeout, and the supervisor starts the worker again.

  Background:
    Given the reference system is running

  Scenario: worker-1 is killed while orders arrive
    When worker-1 is killed while 40 orders arrive
    Then 2 workers are running again within 20 seconds
    And no order is lost or applied twice
