// Every visible string of the app, in English and Russian. Markup names a
// key (data-i18n, data-i18n-alt, ...); code calls t(key, {name: value}).
export const strings = {
  en: {
    language: 'Русский', languageLabel: 'Switch to Russian',
    tabCreate: 'New living photo', tabProjects: 'Projects', signOut: 'Sign out',
    signInTitle: 'Sign in', token: 'API token', signIn: 'Sign in',
    tokenHint: 'The token your administrator gave you (arcd token create). It is kept for this tab only.',
    badToken: 'This token is not accepted. Check it and try again.',
    noServer: 'The server does not answer: {reason}',
    createTitle: 'New living photo', photo: 'Photo', video: 'Video',
    dropHint: 'Choose a file or drop it here.',
    order: 'Order', customer: 'Customer', customerEmail: 'Customer email', titleField: 'Title',
    fitMode: 'How the video sits on the photo', fitContain: 'Whole video inside the photo',
    fitCover: 'Video fills the photo (cropped)', fitFill: 'Stretched to the photo',
    border: 'Printable border (helps phones find the photo)',
    kind: 'Kind', kindDemo: 'Demo (expires after a while)', kindPermanent: 'Permanent',
    create: 'Create', needFiles: 'Choose a photo and a video.',
    photoN: 'Photo {n}', videoN: 'Video {n}', addPair: 'Add another photo and video',
    removePair: 'Remove the last pair', pairsHint: '{n} photo/video pairs: one permanent project with {n} targets.',
    targets: '{n} photos', fitPreview: 'How the video will sit on the photo', fitPhotoAlt: 'The chosen photo, with the video over it',
    progressTitle: 'Making the living photo', uploading: 'Uploading: {percent}% ({sent} of {total})',
    uploaded: 'Uploaded', working: 'Preparing: {percent}%', queued: 'Waiting for a free worker',
    stage_photo: 'Reading the photo', stage_border: 'Drawing the border', stage_marker: 'Compiling the marker',
    stage_features: 'Mapping the features', stage_video: 'Converting the video', stage_viewer: 'Writing the page',
    stage_qr: 'Drawing the QR code', stage_sheet: 'Laying out the print sheet',
    stageDone: '{stage}: done in {seconds} s', stageRunning: '{stage}: working', stageWaiting: '{stage}',
    readyTitle: 'Ready: print it and point a phone at it', errorTitle: 'It did not work',
    failed: 'The job failed: {reason}', uploadFailed: 'The upload was refused: {reason}',
    stars: 'Trackability: {stars} of 5', showFeatures: 'Show what the phone tracks',
    printAlt: 'The photo to print, with its border', featuresAlt: 'The points a phone tracks',
    qrAlt: 'QR code that opens {url}',
    downloadPrint: 'Download print', downloadSheet: 'Download print sheet (PDF)',
    downloadQrPng: 'QR code (PNG)', downloadQrSvg: 'QR code (SVG)', openViewer: 'Open viewer',
    copyLink: 'Copy link', copied: 'Link copied', retry: 'Retry', createAnother: 'New living photo',
    warn_few: 'Few distinctive details: phones may find the print slowly.',
    warn_cover: 'Large plain areas: the details cover only part of the photo.',
    warn_tracking: 'Few tracking points: the video may drift while the phone moves.',
    warn_contrast: 'Low contrast: print it larger or choose a busier photo.',
    warn_other: 'Note: {text}',
    search: 'Search', searchButton: 'Search', more: 'More', noProjects: 'No projects yet.', noMatch: 'Nothing found.',
    status_pending: 'Waiting', status_processing: 'In progress', status_ready: 'Ready', status_error: 'Failed',
    demo: 'Demo', permanent: 'Permanent', created: 'Created {date}', expires: 'Expires {date}',
    open: 'Open', orderOf: 'Order {order}', untitled: '(no title)', thumbAlt: 'Print of {title}',
    filterStatus: 'Status', filterKind: 'Kind', any: 'Any',
    manageTitle: 'Manage', makePermanent: 'Make permanent', extend: 'Extend by 7 days', rerun: 'Run again',
    delete: 'Delete', cancel: 'Cancel', newVideo: 'New video', replaceVideo: 'Replace video',
    confirmDeleteTitle: 'Delete this living photo?',
    confirmDeleteText: 'Its files go and its QR code will say the photo was removed. This cannot be undone.',
    deleted: 'Deleted.', madePermanent: 'The project is permanent now.', extended: 'Expires {date} now.',
    actionFailed: 'Not done: {reason}', deliveries: 'Notifications', noDeliveries: 'No notifications sent.',
    redeliver: 'Redeliver', redelivered: 'Sent again.',
    delivery: '{event} to {target}: {state}, {attempts} attempt(s)',
    delivery_delivered: 'delivered', delivery_failed: 'failed', delivery_pending: 'waiting',
  },
  ru: {
    language: 'English', languageLabel: 'Переключить на английский',
    tabCreate: 'Новое живое фото', tabProjects: 'Проекты', signOut: 'Выйти',
    signInTitle: 'Вход', token: 'API-токен', signIn: 'Войти',
    tokenHint: 'Токен, выданный администратором (arcd token create). Хранится только в этой вкладке.',
    badToken: 'Этот токен не принят. Проверьте его и попробуйте снова.',
    noServer: 'Сервер не отвечает: {reason}',
    createTitle: 'Новое живое фото', photo: 'Фото', video: 'Видео',
    dropHint: 'Выберите файл или перетащите его сюда.',
    order: 'Заказ', customer: 'Клиент', customerEmail: 'Email клиента', titleField: 'Название',
    fitMode: 'Как видео ложится на фото', fitContain: 'Всё видео внутри фото',
    fitCover: 'Видео заполняет фото (с обрезкой)', fitFill: 'Растянуть по фото',
    border: 'Рамка для печати (помогает телефону найти фото)',
    kind: 'Тип', kindDemo: 'Демо (удаляется через время)', kindPermanent: 'Постоянный',
    create: 'Создать', needFiles: 'Выберите фото и видео.',
    photoN: 'Фото {n}', videoN: 'Видео {n}', addPair: 'Добавить ещё фото и видео',
    removePair: 'Убрать последнюю пару', pairsHint: 'Пар фото/видео: {n}. Один постоянный проект с {n} целями.',
    targets: 'Фото в проекте: {n}', fitPreview: 'Как видео ляжет на фото', fitPhotoAlt: 'Выбранное фото и видео поверх него',
    progressTitle: 'Готовим живое фото', uploading: 'Загрузка: {percent}% ({sent} из {total})',
    uploaded: 'Загружено', working: 'Подготовка: {percent}%', queued: 'Ждём свободного обработчика',
    stage_photo: 'Чтение фото', stage_border: 'Рамка', stage_marker: 'Сборка маркера',
    stage_features: 'Карта точек', stage_video: 'Перекодирование видео', stage_viewer: 'Страница просмотра',
    stage_qr: 'QR-код', stage_sheet: 'Лист для печати',
    stageDone: '{stage}: готово за {seconds} с', stageRunning: '{stage}: идёт', stageWaiting: '{stage}',
    readyTitle: 'Готово: распечатайте и наведите телефон', errorTitle: 'Не получилось',
    failed: 'Задание не выполнено: {reason}', uploadFailed: 'Загрузка отклонена: {reason}',
    stars: 'Распознаваемость: {stars} из 5', showFeatures: 'Показать, что отслеживает телефон',
    printAlt: 'Фото для печати с рамкой', featuresAlt: 'Точки, которые отслеживает телефон',
    qrAlt: 'QR-код, открывающий {url}',
    downloadPrint: 'Скачать фото для печати', downloadSheet: 'Скачать лист для печати (PDF)',
    downloadQrPng: 'QR-код (PNG)', downloadQrSvg: 'QR-код (SVG)', openViewer: 'Открыть просмотр',
    copyLink: 'Копировать ссылку', copied: 'Ссылка скопирована', retry: 'Повторить',
    createAnother: 'Новое живое фото',
    warn_few: 'Мало характерных деталей: телефон может находить фото медленно.',
    warn_cover: 'Большие однотонные области: детали занимают только часть фото.',
    warn_tracking: 'Мало точек слежения: видео может «плыть», когда телефон движется.',
    warn_contrast: 'Низкий контраст: напечатайте крупнее или выберите более насыщенное фото.',
    warn_other: 'Замечание: {text}',
    search: 'Поиск', searchButton: 'Найти', more: 'Ещё', noProjects: 'Проектов пока нет.', noMatch: 'Ничего не найдено.',
    status_pending: 'Ожидает', status_processing: 'В работе', status_ready: 'Готов', status_error: 'Ошибка',
    demo: 'Демо', permanent: 'Постоянный', created: 'Создан {date}', expires: 'Истекает {date}',
    open: 'Открыть', orderOf: 'Заказ {order}', untitled: '(без названия)', thumbAlt: 'Печать: {title}',
    filterStatus: 'Состояние', filterKind: 'Тип', any: 'Любой',
    manageTitle: 'Управление', makePermanent: 'Сделать постоянным', extend: 'Продлить на 7 дней',
    rerun: 'Запустить заново', delete: 'Удалить', cancel: 'Отмена', newVideo: 'Новое видео',
    replaceVideo: 'Заменить видео', confirmDeleteTitle: 'Удалить это живое фото?',
    confirmDeleteText: 'Его файлы будут удалены, а QR-код будет сообщать, что фото удалено. Отменить нельзя.',
    deleted: 'Удалено.', madePermanent: 'Проект теперь постоянный.', extended: 'Теперь истекает {date}.',
    actionFailed: 'Не выполнено: {reason}', deliveries: 'Уведомления', noDeliveries: 'Уведомлений не было.',
    redeliver: 'Отправить снова', redelivered: 'Отправлено снова.',
    delivery: '{event} → {target}: {state}, попыток: {attempts}',
    delivery_delivered: 'доставлено', delivery_failed: 'не доставлено', delivery_pending: 'ожидает',
  },
};

let lang = 'en';

export function setLanguage(l) {
  lang = strings[l] ? l : 'en';
  document.documentElement.lang = lang;
}

export function language() {
  return lang;
}

// The language the browser prefers among ours (English when none is).
export function preferred(list) {
  for (const tag of list || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (strings[base]) return base;
  }
  return 'en';
}

export function t(key, vars = {}) {
  const s = strings[lang][key] ?? strings.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

// Fills every element that names a key: text, and the attributes it lists.
export function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n, el.dataset.n ? { n: el.dataset.n } : {});
  }
  for (const attr of ['alt', 'placeholder', 'aria-label', 'title']) {
    const name = `data-i18n-${attr}`;
    for (const el of root.querySelectorAll(`[${name}]`)) el.setAttribute(attr, t(el.getAttribute(name)));
  }
}
