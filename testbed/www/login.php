<?php
// A plain login form (the target of the web brute force); passwords are compared in a prepared query.
require 'db.php';
page_start('Login');
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $st = db()->prepare('SELECT id FROM users WHERE username = :u AND password = :p');
    $st->bindValue(':u', $_POST['username'] ?? '');
    $st->bindValue(':p', $_POST['password'] ?? '');
    $r = $st->execute();
    if ($r && $r->fetchArray()) {
        echo "<p>Welcome back, " . htmlspecialchars($_POST['username']) . "!</p>";
    } else {
        echo "<p class=error>Login failed</p>";
    }
}
echo "<form method=post action=/login.php><input name=username><input name=password type=password><button>Log in</button></form>";
page_end();
