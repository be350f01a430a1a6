"""``voisinmap worker``: run the queued background jobs (door-visit imports, geocoding).

The queue is Redis (RQ) when ``--redis`` or ``$VOISINMAP_REDIS_URL`` is given, else the SQL table of the
coverage store (``--db`` or ``$DATABASE_URL``). Several workers may run at once, on either queue.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from geo.i18n import t

logger = logging.getLogger(__name__)


@click.command("worker", help=t("cli.worker.help"))
@click.option("--db", "db_url", metavar="URL", default=None, help=t("cli.worker.db"))
@click.option("--redis", "redis", metavar="URL", default=None, help=t("cli.worker.redis"))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=t("cli.worker.data_dir"))
@click.option("--geocoder-url", default=None, metavar="URL", help=t("cli.worker.geocoder_url"))
@click.option("--burst", is_flag=True, help=t("cli.worker.burst"))
@click.option("--max-jobs", type=click.IntRange(min=1), default=None, help=t("cli.worker.max_jobs"))
@click.option("--poll", type=click.FloatRange(min=0.05), default=1.0, show_default=True, help=t("cli.worker.poll"))
def worker(db_url: str | None, redis: str | None, data_dir: Path | None, geocoder_url: str | None, burst: bool,
           max_jobs: int | None, poll: float) -> None:
    """Run queued jobs until stopped (or, with ``--burst``, until the queue is empty)."""
    from geo.jobs import open_queue, redis_url
    from geo.jobs.tasks import WorkerContext

    context = WorkerContext(store_url=db_url, data_dir=data_dir, geocoder_url=geocoder_url)
    url = redis_url(redis)
    queue = open_queue(store_url=db_url, redis=url)
    try:
        if url:
            from geo.jobs.redis_queue import set_worker_context

            set_worker_context(context)
            queue.work(burst=burst, max_jobs=max_jobs)
            click.echo(t("cli.worker.stopped"))
            return
        from geo.jobs.worker import work

        count = work(queue, context=context, burst=burst, max_jobs=max_jobs, poll=poll)
        click.echo(t("cli.worker.done", count=count))
    except KeyboardInterrupt:
        click.echo(t("cli.worker.stopped"))
    finally:
        context.close()
