import { EmptyState } from '../components/EmptyState';

export default function Playground() {
  return (
    <section>
      <h1>Playground</h1>
      <EmptyState title="Coming soon">
        <p>This page is not built yet. The API under /v1 and the CLI do everything it will.</p>
      </EmptyState>
    </section>
  );
}
