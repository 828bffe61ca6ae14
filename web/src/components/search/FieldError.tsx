// An inline error under a form field: message plus the error code.
export interface ShownError {
  code: string;
  message: string;
}

export function FieldError({ name, error }: { name: string; error: ShownError | undefined }) {
  if (!error) return null;
  return (
    <div className="field-error" role="alert" data-testid={`error-${name}`}>
      {error.message} <code className="error-code">{error.code}</code>
    </div>
  );
}
