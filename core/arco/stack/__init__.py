"""The serverless topology, on this machine: `make stack`, `python -m arco.stack up|down|status`.

    fake-gcs-server        the bucket (the store: gs://BUCKET), in memory
    Pub/Sub emulator       one topic and one push subscription per push sensor of the code
                           location, pushing to `sensor_push`, with a dead-letter topic (as
                           infra/modules/arco/pubsub.tf sets them up)
    Cloud Tasks emulator   the timer queue (the timer chain, worker nudges) and the worker
                           queue (task orders), calling `timer` and `worker`
    five functions         api, timer, worker, sensor_push, compactor, each under
                           functions-framework with the environment the terraform sets for it
                           (`arco.services.config.FUNCTION_ENV`)

    topology     where everything listens, and the environment each process starts with
    tools        the emulators and servers the stack runs, and where it finds them
    processes    process groups: starting, watching and stopping them, checking by pid
    supervisor   one stack: its processes, what `up` creates in the emulators, its state
    commands     up, down and status (run by `__main__`)

docs/stack.md says how to use it.
"""
