// Monaco's editor, JSON and GraphQL workers, bundled by Vite as same-origin module workers (no CDN).
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GRAPHQL_PATH, graphqlWsUrl } from '../app/client';
import { bearer, readToken } from '../app/session';
import { createGraphiQLStorage } from './graphiql-storage';

const token = readToken();
// Lower-case "authorization": the toolkit merges the header editor's headers into the graphql-ws connection params,
// and the server reads connectionParams.authorization, so an edited header applies to subscriptions too.
const defaultHeaders = token ? JSON.stringify({ authorization: bearer(token) }, null, 2) : null;

const fetcher = createGraphiQLFetcher({
  url: `${window.location.origin}${GRAPHQL_PATH}`,
  subscriptionUrl: graphqlWsUrl(),
  ...(token ? { wsConnectionParams: { authorization: bearer(token) } } : {}),
});

const DEFAULT_QUERY = `# audithook GraphiQL: the public API of this server.
# The header editor below holds the token you signed in with in the console (this tab only).
# Ctrl-Enter runs the operation; subscriptions run over graphql-ws.

query Viewer {
  viewer {
    role
    organization { id name }
  }
}
`;

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL
      fetcher={fetcher}
      defaultQuery={DEFAULT_QUERY}
      {...(defaultHeaders ? { initialHeaders: defaultHeaders, defaultHeaders } : {})}
      defaultEditorToolsVisibility={defaultHeaders ? 'headers' : true}
      shouldPersistHeaders={false}
      showPersistHeadersSettings={false}
      storage={createGraphiQLStorage(defaultHeaders)}
    >
      {/* GraphiQL finds its logo slot by element type, so GraphiQL.Logo must be a direct child. */}
      <GraphiQL.Logo>
        <a href="/" className="audithook-graphiql-logo" title="Back to the audithook console">
          audithook
        </a>
      </GraphiQL.Logo>
    </GraphiQL>
  </StrictMode>,
);
