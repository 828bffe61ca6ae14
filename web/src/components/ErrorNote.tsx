// An API error as text with its machine-readable code.
import { ApiError } from '../api/client';

export function ErrorNote({ error, testId }: { error: unknown; testId?: string }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'error';
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="alert alert-error" role="alert" data-testid={testId}>
      {message} <code className="error-code">{code}</code>
    </div>
  );
}
