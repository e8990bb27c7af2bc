/**
 * The review console: react-admin over the moderation API, under /console (browser history, so deep links like
 * /console/cases/<id> work; the API serves index.html for them). Resources follow the user's role: the audit log
 * and appeals are for senior moderators and admins.
 */
import { lazy } from 'react';
import { BrowserRouter, Route } from 'react-router';
import { Admin, Resource } from 'react-admin';
import QueueIcon from '@mui/icons-material/Inbox';
import LiveIcon from '@mui/icons-material/LiveTv';
import PeopleIcon from '@mui/icons-material/People';
import GavelIcon from '@mui/icons-material/Gavel';
import HistoryIcon from '@mui/icons-material/ReceiptLong';
import { authProvider } from './authProvider';
import { dataProvider } from './dataProvider';
import { WardenLayout } from './Layout';
import { LoginPage } from './LoginPage';
import { QueueList } from './queue/QueueList';
import { CaseShow } from './case/CaseShow';
import { BroadcastList } from './people/BroadcastList';
import { UserList, UserShow } from './people/Users';
import { AppealList, AuditList } from './oversight/Oversight';
import { darkTheme, lightTheme } from './theme';
import { SENIOR_ROLES, type Permissions } from './types';

const Dashboard = lazy(() => import('./dashboard/Dashboard'));

/** The whole app. */
export function App() {
  return (
    <BrowserRouter basename="/console">
      <Admin
        title="Warden"
        dataProvider={dataProvider}
        authProvider={authProvider}
        loginPage={LoginPage}
        layout={WardenLayout}
        dashboard={Dashboard}
        theme={lightTheme}
        darkTheme={darkTheme}
        requireAuth
        disableTelemetry
      >
        {(permissions: Permissions | undefined) => (
          <>
            <Resource name="cases" options={{ label: 'Queue' }} icon={QueueIcon} list={QueueList}>
              <Route path=":id" element={<CaseShow />} />
            </Resource>
            <Resource name="broadcasts" icon={LiveIcon} list={BroadcastList} />
            <Resource name="users" icon={PeopleIcon} list={UserList} show={UserShow} recordRepresentation={(u: { handle: string }) => `@${u.handle}`} />
            {permissions && SENIOR_ROLES.includes(permissions.role) && <>
              <Resource name="appeals" icon={GavelIcon} list={AppealList} />
              <Resource name="audit" options={{ label: 'Audit log' }} icon={HistoryIcon} list={AuditList} />
            </>}
          </>
        )}
      </Admin>
    </BrowserRouter>
  );
}
