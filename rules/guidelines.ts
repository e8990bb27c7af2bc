/**
 * The community guidelines every account accepts at sign-up (`GET /api/guidelines`). The version changes
 * whenever the text changes in substance; an account records which version it accepted and when
 * (`users.guidelines_version`, `users.guidelines_accepted_at`), so a later change can ask people to accept again.
 * The text is policy, kept beside the policy files; the web apps show it as it comes from the API.
 */

/** One section: a heading and its text (plain text, paragraphs separated by blank lines). */
export interface GuidelinesSection { heading: string; text: string }
export interface Guidelines { version: string; title: string; sections: GuidelinesSection[] }

export const GUIDELINES: Guidelines = {
  version: '2025-06-01',
  title: 'Community guidelines',
  sections: [
    {
      heading: 'Adults only',
      text: 'Everyone on camera must be 18 or older and verified. Viewers must be 18 or older. If you see anyone who may be a minor, report it at once: it is the most urgent report there is.',
    },
    {
      heading: 'Consent and safety',
      text: 'Everyone on camera takes part willingly and can stop at any time. Performers have a panic button; moderators answer it immediately. Do not pressure, threaten or harass anyone, on camera or in chat.',
    },
    {
      heading: 'Respect in chat',
      text: 'No hate, threats, slurs or harassment. Performers set the rules of their own room (blocked words, slow mode, trusted viewers only); respect them. Repeated or serious breaches lead to timeouts, suspensions or bans.',
    },
    {
      heading: 'Privacy',
      text: 'Do not share anyone\'s personal data: real names, addresses, phone numbers, e-mail addresses or photographs taken elsewhere. Do not record or redistribute streams.',
    },
    {
      heading: 'Stay on the platform',
      text: 'Do not ask for or offer contact or payment outside the platform. Such requests are a common start of scams and exploitation, and are removed.',
    },
    {
      heading: 'How we enforce',
      text: 'Automated checks and human moderators review streams, chat and reports. When we act against your content or account, you receive a statement of reasons and may appeal it.',
    },
  ],
};
