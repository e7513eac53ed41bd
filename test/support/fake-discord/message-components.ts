import { ComponentType, type APIComponentInMessageActionRow, type APIMessageTopLevelComponent } from 'discord.js';

/** The children of each action row, by row; other top-level components (Components V2) are skipped. */
export function actionRows(components: readonly APIMessageTopLevelComponent[]): APIComponentInMessageActionRow[][] {
  return components.flatMap((component) =>
    component.type === ComponentType.ActionRow ? [component.components] : [],
  );
}

/** The `custom_id` of every button and select menu in the action rows, in order. */
export function customIdsIn(components: readonly APIMessageTopLevelComponent[]): string[] {
  return actionRows(components)
    .flat()
    .flatMap((child) => ('custom_id' in child && typeof child.custom_id === 'string' ? [child.custom_id] : []));
}
