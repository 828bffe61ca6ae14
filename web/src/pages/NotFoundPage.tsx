import { Link } from 'react-router-dom';

export function NotFoundPage({ what = 'page' }: { what?: 'page' | 'job' }) {
  return (
    <section className="card narrow" data-testid="not-found">
      <h1>{what === 'job' ? 'Job not found' : 'Page not found'}</h1>
      <p>
        {what === 'job'
          ? 'There is no such job, or it was deleted, or it belongs to someone else.'
          : 'Nothing lives at this address.'}
      </p>
      <p>
        <Link to="/search">Start a new search</Link> or <Link to="/jobs">see your jobs</Link>.
      </p>
    </section>
  );
}
