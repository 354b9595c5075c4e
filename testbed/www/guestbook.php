<?php
// VULNERABLE ON PURPOSE: comments are stored and shown without escaping (stored XSS).
require 'db.php';
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $st = db()->prepare('INSERT INTO comments (name, body) VALUES (:n, :b)');
    $st->bindValue(':n', substr($_POST['name'] ?? 'anonymous', 0, 200));
    $st->bindValue(':b', substr($_POST['comment'] ?? '', 0, 2000));
    $st->execute();
}
page_start('Guestbook');
echo "<form method=post><input name=name><textarea name=comment></textarea><button>Sign</button></form>";
$r = db()->query('SELECT name, body FROM comments ORDER BY id DESC LIMIT 20');
while ($r && ($row = $r->fetchArray(SQLITE3_NUM))) {
    echo "<div class=comment><b>{$row[0]}</b>: {$row[1]}</div>";
}
page_end();
