import { TextNormalizer } from './normalize.ts';
import { ProfanityMatcher } from './profanity.ts';
const n = new TextNormalizer(); const p = new ProfanityMatcher();
for (const t of ['hello everyone', 'f u c k you', 'Scunthorpe', 'Penistone', 'shiitake', 'the class assassin', 'cocktail', 'a$$hole', 'n1gg@', 'fuuuuck', 'Essex Sussex', 'therapist', 'grapes analysis class pass bass hello Cockburn Dickens', 'cumin', 'Retardant', 'my snap peas', 'bitch']) {
  const v = n.normalize(t);
  console.log(JSON.stringify(t), p.mightMatch(v.text), p.match(v.text).map((h) => `${h.word}/${h.category}/${h.severity}[${v.starts[h.start]},${v.ends[h.end - 1]}]`).join(' '));
}
